// Backend: where the numerical work runs. The CPU backend (core/backend/cpu_backend.h) is always
// there; the CUDA backend lives in libgptq-cuda.so and is reached through the
// plugin table of core/backend/backend_plugin.h, so core never includes a CUDA header
// and libgptq.so links no CUDA library. Operations (Hessian accumulation,
// Cholesky inverse, GPTQ block solve, GEMM, int4 GEMM, attention) are added
// here as the engine grows; each has a CPU implementation that is the reference.
#pragma once

#include <string>
#include <string_view>

namespace gptq {

class Backend {
 public:
  virtual ~Backend() = default;
  // "cpu" or "cuda".
  virtual std::string_view name() const = 0;
  // Human-readable device, e.g. "NVIDIA H100 80GB HBM3" or the CPU model.
  virtual std::string device_name() const = 0;
  // A quick end-to-end check that the device computes (CUDA: a kernel round
  // trip). Throws Error(Device) with the reason when it does not.
  virtual void self_test() = 0;
};

}  // namespace gptq
