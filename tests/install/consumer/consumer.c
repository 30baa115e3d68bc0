/* A program outside the tree, built against the installed libgptq. */
#include <gptq/gptq.h>
#include <stdio.h>

int main(void) {
  gptq_context *ctx = NULL;
  gptq_status st = gptq_context_create("{\"backend\": \"cpu\"}", &ctx);
  if (st != GPTQ_OK) {
    fprintf(stderr, "%s: %s\n", gptq_status_name(st), gptq_last_error());
    return 1;
  }
  printf("consumer: libgptq %s (ABI %u)\n", gptq_version(), (unsigned)gptq_abi_version());
  gptq_context_destroy(ctx);
  return gptq_abi_version() == GPTQ_ABI_VERSION ? 0 : 1;
}
