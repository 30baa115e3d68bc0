// What whole-model runs on one open device share: its stream, a cuBLAS
// handle bound to it, and a lock, so runs from several host threads take
// turns (one cuBLAS handle, one stream); plus the host services, for
// cancellation between layers. The handle has a workspace of its own, so
// that its GEMMs can be captured in a CUDA graph (the decode step, see
// device_model.cpp) without allocating.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <mutex>

#include "core/backend/backend_plugin.h"
#include "cuda/runtime/device_buffer.h"

namespace gptq::cuda {

class ForwardDevice {
 public:
  ForwardDevice(cudaStream_t stream, const gptq_backend_host *host);
  ~ForwardDevice();
  ForwardDevice(const ForwardDevice &) = delete;
  ForwardDevice &operator=(const ForwardDevice &) = delete;

  cudaStream_t stream() const { return stream_; }
  cublasHandle_t blas() const { return blas_; }
  std::mutex &mutex() const { return mutex_; }
  // Whether the library call on this thread was cancelled.
  bool cancelled() const;

 private:
  cudaStream_t stream_;
  const gptq_backend_host *host_;
  cublasHandle_t blas_ = nullptr;
  DeviceBuffer blas_workspace_;
  mutable std::mutex mutex_;
};

}  // namespace gptq::cuda
