// The one way CUDA errors are checked in cuda/: a failed call becomes a
// CudaError carrying the file, line, the call and the library's own message.
// It is caught at the plugin boundary (plugin.cpp) and turned into the
// reason string that core shows the user.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace gptq::cuda {

// Carries the runtime's code, so the plugin boundary can tell out of memory
// (GPTQ_PLUGIN_ERR_OUT_OF_MEMORY) from every other device failure.
class CudaError : public std::runtime_error {
 public:
  explicit CudaError(const std::string &message, cudaError_t code = cudaErrorUnknown)
      : std::runtime_error(message), code_(code) {}
  cudaError_t code() const noexcept { return code_; }

 private:
  cudaError_t code_;
};

[[noreturn]] inline void throw_cuda_error(cudaError_t code, const char *call, const char *file,
                                          int line) {
  throw CudaError(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                      cudaGetErrorName(code) + ": " + cudaGetErrorString(code),
                  code);
}

}  // namespace gptq::cuda

#define GPTQ_CUDA_CHECK(call)                                                   \
  do {                                                                          \
    cudaError_t gptq_cuda_status_ = (call);                                     \
    if (gptq_cuda_status_ != cudaSuccess)                                       \
      ::gptq::cuda::throw_cuda_error(gptq_cuda_status_, #call, __FILE__, __LINE__); \
  } while (0)
