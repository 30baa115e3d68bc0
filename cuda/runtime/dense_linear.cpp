#include "cuda/runtime/dense_linear.h"

#include <utility>

#include "cuda/cublas_check.h"
#include "cuda/cuda_check.h"
#include "cuda/host_staging.h"
#include "cuda/runtime/kernels.h"

namespace gptq::cuda {
namespace {

// Row-major y[m][N] = x[m][K] W^T is, column-major, y^T = W^T(op T of the
// K x N matrix W) x^T: one GEMM, no transposes in memory.
void gemm(const __half *w, const __half *x, void *y, cudaDataType_t y_type, std::int64_t n, std::int64_t k,
          std::int64_t m, const LinearCall &call) {
  const float alpha = 1.0f, beta = 0.0f;
  GPTQ_CUBLAS_CHECK(cublasGemmEx(call.blas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                                 static_cast<int>(k), &alpha, w, CUDA_R_16F, static_cast<int>(k), x, CUDA_R_16F,
                                 static_cast<int>(k), &beta, y, y_type, static_cast<int>(n), CUBLAS_COMPUTE_32F,
                                 CUBLAS_GEMM_DEFAULT));
}

}  // namespace

DenseLinear::DenseLinear(std::shared_ptr<const DeviceBuffer> weight, DeviceBuffer bias, std::int64_t out_features,
                         std::int64_t in_features)
    : weight_(std::move(weight)), bias_(std::move(bias)), n_(out_features), k_(in_features) {}

void DenseLinear::forward(const __half *x, __half *y, std::int64_t m, const LinearCall &call) const {
  gemm(weight_->as<const __half>(), x, y, CUDA_R_16F, n_, k_, m, call);
  if (bias_.get()) add_bias(y, bias_.as<const float>(), m, n_, call.stream);
}

void DenseLinear::forward_f32(const __half *x, float *y, std::int64_t m, const LinearCall &call) const {
  gemm(weight_->as<const __half>(), x, y, CUDA_R_32F, n_, k_, m, call);
  if (bias_.get()) add_bias(y, bias_.as<const float>(), m, n_, call.stream);
}

std::unique_ptr<DenseLinear> make_dense_linear(const float *weight, const float *bias, std::int64_t out_features,
                                               std::int64_t in_features, const std::string &what) {
  auto w = std::make_shared<const DeviceBuffer>(
      upload_half(weight, static_cast<std::size_t>(out_features * in_features), what + " weight"));
  DeviceBuffer b = bias ? upload(bias, static_cast<std::size_t>(out_features), what + " bias") : DeviceBuffer();
  return std::make_unique<DenseLinear>(std::move(w), std::move(b), out_features, in_features);
}

std::unique_ptr<DenseLinear> make_dense_linear(const float *weight, const float *bias, std::int64_t out_features,
                                               std::int64_t in_features, const std::string &what,
                                               DeviceBuffer &staging, cudaStream_t stream) {
  const auto count = static_cast<std::size_t>(out_features * in_features);
  if (staging.bytes() < count * sizeof(float)) {
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));  // the last conversion may still read it
    staging = DeviceBuffer();
    staging = DeviceBuffer(count * sizeof(float), what + " weight (fp32 on its way to fp16)");
  }
  // Staged before it returns: the host array may go.
  copy_to_device(staging.get(), weight, count * sizeof(float), stream, false);
  return make_dense_linear_from_device(staging.as<const float>(), bias, out_features, in_features, what, stream);
}

std::unique_ptr<DenseLinear> make_dense_linear_from_device(const float *weight, const float *bias,
                                                           std::int64_t out_features, std::int64_t in_features,
                                                           const std::string &what, cudaStream_t stream) {
  const auto count = static_cast<std::size_t>(out_features * in_features);
  auto w = std::make_shared<DeviceBuffer>(count * sizeof(__half), what + " weight");
  to_half(weight, static_cast<std::int64_t>(count), w->as<__half>(), stream);
  DeviceBuffer b = bias ? upload(bias, static_cast<std::size_t>(out_features), what + " bias") : DeviceBuffer();
  return std::make_unique<DenseLinear>(std::move(w), std::move(b), out_features, in_features);
}

}  // namespace gptq::cuda
