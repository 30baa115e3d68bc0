#include "cuda/quantize/quantize_device.h"

#include <string>

#include "cuda/cublas_check.h"
#include "cuda/cuda_check.h"
#include "cuda/cusolver_check.h"
#include "cuda/plugin_error.h"

namespace gptq::cuda {

QuantizeDevice::QuantizeDevice(const DeviceState &state, const gptq_backend_host *host)
    : state_(&state), host_(host) {
  state.activate();
  try {
    GPTQ_CUBLAS_CHECK(cublasCreate(&blas_));
    GPTQ_CUBLAS_CHECK(cublasSetStream(blas_, state.stream()));
    // Plain fp32 products (no TF32): the lazy update must round as the CPU's
    // sgemm does. The Hessian names its bf16 inputs itself.
    GPTQ_CUBLAS_CHECK(cublasSetMathMode(blas_, CUBLAS_DEFAULT_MATH));
    GPTQ_CUSOLVER_CHECK(cusolverDnCreate(&solver_));
    GPTQ_CUSOLVER_CHECK(cusolverDnSetStream(solver_, state.stream()));
    GPTQ_CUSOLVER_CHECK(cusolverDnCreateParams(&params_));
  } catch (...) {
    if (params_) cusolverDnDestroyParams(params_);
    if (solver_) cusolverDnDestroy(solver_);
    if (blas_) cublasDestroy(blas_);
    throw;
  }
}

QuantizeDevice::~QuantizeDevice() {
  cudaSetDevice(state_->device());
  cudaStreamSynchronize(state_->stream());
  cusolverDnDestroyParams(params_);
  cusolverDnDestroy(solver_);
  cublasDestroy(blas_);
}

void QuantizeDevice::sync() const { GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream())); }

void QuantizeDevice::check_cancelled(const char *where) const {
  if (host_ && host_->cancelled && host_->cancelled(host_->user))
    throw Cancelled(where);
}

void QuantizeDevice::debug(const char *line) const {
  if (host_ && host_->log) host_->log(host_->user, 4, line);
}

void QuantizeDevice::info_once(const char *line) const {
  if (host_ && host_->log && !said_.exchange(true)) host_->log(host_->user, 3, line);
}

}  // namespace gptq::cuda
