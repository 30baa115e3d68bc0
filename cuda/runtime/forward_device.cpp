#include "cuda/runtime/forward_device.h"

#include "cuda/cublas_check.h"

namespace gptq::cuda {

ForwardDevice::ForwardDevice(cudaStream_t stream, const gptq_backend_host *host) : stream_(stream), host_(host) {
  GPTQ_CUBLAS_CHECK(cublasCreate(&blas_));
  const cublasStatus_t st = cublasSetStream(blas_, stream_);
  if (st != CUBLAS_STATUS_SUCCESS) {
    cublasDestroy(blas_);
    GPTQ_CUBLAS_CHECK(st);
  }
}

ForwardDevice::~ForwardDevice() {
  if (blas_) cublasDestroy(blas_);
}

bool ForwardDevice::cancelled() const { return host_ && host_->cancelled && host_->cancelled(host_->user) != 0; }

}  // namespace gptq::cuda
