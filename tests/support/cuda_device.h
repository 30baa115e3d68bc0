// Whether this process sees a CUDA device, for the tests labelled cuda that
// drive the CUDA code directly (kernels, the device sampler) rather than
// through the plugin's backend: without one they skip and say why.
#pragma once

#include <cuda_runtime.h>

#include <string>

namespace gptq::testing {

// Empty when a device is there; else what the runtime said.
inline std::string no_gpu_reason() {
  int n = 0;
  const cudaError_t st = cudaGetDeviceCount(&n);
  if (st != cudaSuccess) return std::string(cudaGetErrorName(st)) + ": " + cudaGetErrorString(st);
  return n == 0 ? "no CUDA device present" : "";
}

}  // namespace gptq::testing

#define GPTQ_REQUIRE_DEVICE()                                                    \
  do {                                                                           \
    const std::string gptq_no_gpu = ::gptq::testing::no_gpu_reason();          \
    if (!gptq_no_gpu.empty()) GTEST_SKIP() << "no usable GPU: " << gptq_no_gpu; \
  } while (0)
