#include "cuda/kernels/chained_launch.h"

#include <atomic>
#include <string>

#include "cuda/env_switch.h"

namespace gptq::cuda {
namespace {

// Per device ordinal: 0 unknown, 1 chains (sm_90+), 2 does not. Asked once
// per device: cudaDeviceGetAttribute is not free, and launches are many.
constexpr int kDevices = 64;
std::atomic<int> device_chains[kDevices];

bool device_can_chain() {
  int device = 0;
  GPTQ_CUDA_CHECK(cudaGetDevice(&device));
  if (device < 0 || device >= kDevices) return false;
  int known = device_chains[device].load(std::memory_order_relaxed);
  if (known == 0) {
    int major = 0;
    GPTQ_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    known = major >= 9 ? 1 : 2;
    device_chains[device].store(known, std::memory_order_relaxed);
  }
  return known == 1;
}

}  // namespace

void throw_launch_error(cudaError_t status, const void *kernel, dim3 grid, dim3 block, std::size_t smem) {
  const char *name = nullptr;
  if (cudaFuncGetName(&name, kernel) != cudaSuccess || !name) name = "a kernel";
  auto dims = [](dim3 d) {
    return std::to_string(d.x) + " x " + std::to_string(d.y) + " x " + std::to_string(d.z);
  };
  throw CudaError("launching " + std::string(name) + " (grid " + dims(grid) + ", block " + dims(block) + ", " +
                      std::to_string(smem) + " bytes of dynamic shared memory) failed: " + cudaGetErrorName(status) +
                      ": " + cudaGetErrorString(status),
                  status);
}

bool chained_launch_enabled() {
  return !switched_off("GPTQ_CHAINED_LAUNCH") && device_can_chain();
}

}  // namespace gptq::cuda
