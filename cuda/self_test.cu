// A kernel round trip that proves the device, the driver and the fatbin for
// this architecture work together, run by Backend::self_test().
#include <string>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/device_memory.h"
#include "cuda/device_state.h"

namespace gptq::cuda {
namespace {

__global__ void iota_kernel(int *out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = i * 3 + 1;
}

}  // namespace

void run_self_test(const DeviceState &state, int n) {
  state.activate();
  const DeviceBuffer out(sizeof(int) * n, "the self-test's output", state.stream());
  int *d = out.as<int>();
  const int block = 256;
  iota_kernel<<<(n + block - 1) / block, block, 0, state.stream()>>>(d, n);
  cudaError_t launch = cudaGetLastError();
  std::vector<int> host(n);
  cudaError_t copy = cudaMemcpyAsync(host.data(), d, sizeof(int) * n, cudaMemcpyDeviceToHost,
                                     state.stream());
  GPTQ_CUDA_CHECK(launch);
  GPTQ_CUDA_CHECK(copy);
  GPTQ_CUDA_CHECK(cudaStreamSynchronize(state.stream()));
  for (int i = 0; i < n; ++i) {
    if (host[i] != i * 3 + 1)
      throw CudaError("self-test kernel wrote " + std::to_string(host[i]) + " at " +
                      std::to_string(i) + ", expected " + std::to_string(i * 3 + 1));
  }
}

}  // namespace gptq::cuda
