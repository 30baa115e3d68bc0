/* Calls a GPTQ_DEPRECATED function: tests/capi/deprecated_test.cmake compiles
 * it and expects the compiler's deprecation warning, naming the replacement. */
#include <stddef.h>

#include "gptq/gptq.h"

int main(void) {
  double ppl = 0;
  return (int)gptq_perplexity(NULL, NULL, "", 0, NULL, NULL, NULL, &ppl, NULL, NULL);
}
