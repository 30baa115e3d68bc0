#include "cuda/runtime/forward_device.h"

#include "cuda/cublas_check.h"

namespace gptq::cuda {
namespace {

// What cuBLAS's documentation recommends for Hopper (and more than enough
// for the earlier architectures).
constexpr std::size_t kBlasWorkspaceBytes = std::size_t{32} << 20;

}  // namespace

ForwardDevice::ForwardDevice(cudaStream_t stream, const gptq_backend_host *host) : stream_(stream), host_(host) {
  GPTQ_CUBLAS_CHECK(cublasCreate(&blas_));
  cublasStatus_t st = cublasSetStream(blas_, stream_);
  if (st == CUBLAS_STATUS_SUCCESS) {
    try {
      blas_workspace_ = DeviceBuffer(kBlasWorkspaceBytes, "the cuBLAS workspace of the forward pass");
    } catch (...) {
      cublasDestroy(blas_);
      throw;
    }
    st = cublasSetWorkspace(blas_, blas_workspace_.get(), blas_workspace_.bytes());
  }
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
