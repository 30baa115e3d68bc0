// The CUDA backend's environment switches that turn a mechanism off for a
// measurement or as a way out (GPTQ_CUDA_GRAPHS=0, GPTQ_CHAINED_LAUNCH=0,
// GPTQ_GEMV_ALIGNED=0, GPTQ_ATTN_EARLY_LOADS=0, GPTQ_ATTN_NEW_ROWS=0, GPTQ_CUDA_PINNED_STAGING=0,
// GPTQ_GPU_SAMPLING=0): one rule for all of them.
#pragma once

#include <cstdlib>
#include <cstring>

namespace gptq::cuda {

// Whether the variable `name` is set to "0". Read each time it is asked, so
// that a test or benchmark can compare both ways in one process.
inline bool switched_off(const char *name) {
  const char *value = std::getenv(name);
  return value && std::strcmp(value, "0") == 0;
}

}  // namespace gptq::cuda
