// What the CUDA quantizer needs of an open device: its stream, a cuBLAS and a
// cuSOLVER handle bound to that stream, and the host's cancellation. Made on
// the first quantize entry of a plugin state and kept with it.
#pragma once

#include <cublas_v2.h>
#include <cusolverDn.h>

#include <atomic>

#include "core/backend/backend_plugin.h"
#include "cuda/device_state.h"

namespace gptq::cuda {

class QuantizeDevice {
 public:
  QuantizeDevice(const DeviceState &state, const gptq_backend_host *host);
  ~QuantizeDevice();
  QuantizeDevice(const QuantizeDevice &) = delete;
  QuantizeDevice &operator=(const QuantizeDevice &) = delete;

  const DeviceState &state() const { return *state_; }
  cudaStream_t stream() const { return state_->stream(); }
  cublasHandle_t blas() const { return blas_; }
  cusolverDnHandle_t solver() const { return solver_; }
  cusolverDnParams_t solver_params() const { return params_; }
  // Waits for the work queued on the stream; throws its failure.
  void sync() const;
  // Throws Cancelled when the library call was cancelled.
  void check_cancelled(const char *where) const;
  // Logs a debug line through the host (nothing without one).
  void debug(const char *line) const;
  // Logs an info line the first time it is asked to for this device (a
  // choice the whole run makes, said once).
  void info_once(const char *line) const;

 private:
  const DeviceState *state_;
  const gptq_backend_host *host_;
  cublasHandle_t blas_ = nullptr;
  cusolverDnHandle_t solver_ = nullptr;
  cusolverDnParams_t params_ = nullptr;
  mutable std::atomic<bool> said_ = false;
};

}  // namespace gptq::cuda
