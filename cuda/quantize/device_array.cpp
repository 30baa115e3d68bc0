#include "cuda/quantize/device_array.h"

#include "cuda/cuda_check.h"

namespace gptq::cuda {

void *device_alloc(std::size_t bytes, const char *what) {
  if (bytes == 0) return nullptr;
  void *p = nullptr;
  const cudaError_t st = cudaMalloc(&p, bytes);
  if (st == cudaSuccess) return p;
  (void)cudaGetLastError();  // an allocation failure is not sticky: clear it
  std::size_t free_b = 0, total_b = 0;
  const bool known = cudaMemGetInfo(&free_b, &total_b) == cudaSuccess;
  std::string msg = "out of GPU memory: cudaMalloc of " + std::to_string(bytes) + " bytes for " + what + " failed";
  if (known) msg += " (" + std::to_string(free_b) + " of " + std::to_string(total_b) + " bytes free)";
  msg += std::string(": ") + cudaGetErrorName(st);
  throw CudaError(msg, st == cudaErrorMemoryAllocation ? cudaErrorMemoryAllocation : st);
}

}  // namespace gptq::cuda
