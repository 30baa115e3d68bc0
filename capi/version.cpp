// gptq_version*, gptq_abi_version: what this build of the library is.
#include "gptq/gptq.h"

extern "C" {

GPTQ_API const char *gptq_version(void) {
#define GPTQ_STR2(x) #x
#define GPTQ_STR(x) GPTQ_STR2(x)
  return GPTQ_STR(GPTQ_VERSION_MAJOR) "." GPTQ_STR(GPTQ_VERSION_MINOR) "." GPTQ_STR(
      GPTQ_VERSION_PATCH);
#undef GPTQ_STR
#undef GPTQ_STR2
}

GPTQ_API uint32_t gptq_version_number(void) { return GPTQ_VERSION_NUMBER; }

GPTQ_API uint32_t gptq_abi_version(void) { return GPTQ_ABI_VERSION; }

}  // extern "C"
