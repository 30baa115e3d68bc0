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

// The test hook of cuda/device_memory.h: true when the plugin state whose
// entry runs on this thread was armed to fail this check (counts it). The
// checks below ask before making the call, so an injected failure is a call
// that failed having done nothing (no handle made, no work queued).
bool injected_check_failure() noexcept;
// A call armed to fail: a device error naming it, as a real failure.
[[noreturn]] void throw_injected_failure(const char *call, const char *file, int line);

}  // namespace gptq::cuda

#define GPTQ_CUDA_CHECK(call)                                                   \
  do {                                                                          \
    if (::gptq::cuda::injected_check_failure())                                 \
      ::gptq::cuda::throw_injected_failure(#call, __FILE__, __LINE__);          \
    cudaError_t gptq_cuda_status_ = (call);                                     \
    if (gptq_cuda_status_ != cudaSuccess)                                       \
      ::gptq::cuda::throw_cuda_error(gptq_cuda_status_, #call, __FILE__, __LINE__); \
  } while (0)
