#include "cuda/quantize/device_hessian.h"

#include <algorithm>
#include <string>

#include "cuda/cublas_check.h"
#include "cuda/cuda_check.h"
#include "cuda/quantize/hessian_kernels.h"
#include "cuda/plugin_error.h"

namespace gptq::cuda {
namespace {

// Columns per panel of the upper-part product: with P = K / 2048 panels the
// work is (P + 1) / (2P) of the full product (0.75 at K = 4096, 0.58 at
// 11008) while each GEMM keeps enough output tiles to fill the GPU.
constexpr std::int64_t kPanel = 2048;
// Rows per chunk of the conversion scratch: at most 256 MiB of it.
constexpr std::size_t kScratchBytes = std::size_t{256} << 20;
constexpr unsigned long long kNone = ~0ull;

[[noreturn]] void invalid(const std::string &what) {
  throw InvalidArgument("Hessian: " + what);
}

}  // namespace

DeviceHessian::DeviceHessian(const QuantizeDevice &device, std::int64_t columns, bool fp64)
    : dev_(&device), k_(columns), fp64_(fp64) {
  if (columns <= 0) invalid("columns must be > 0, got " + std::to_string(columns));
  const auto kk = static_cast<std::size_t>(k_) * static_cast<std::size_t>(k_);
  if (fp64_) {
    sum64_ = DeviceArray<double>(kk, "the fp64 Hessian sums");
    GPTQ_CUDA_CHECK(cudaMemsetAsync(sum64_.get(), 0, sum64_.bytes(), dev_->stream()));
  } else {
    sum32_ = DeviceArray<float>(kk, "the Hessian sums");
    GPTQ_CUDA_CHECK(cudaMemsetAsync(sum32_.get(), 0, sum32_.bytes(), dev_->stream()));
  }
  flag_ = DeviceArray<unsigned long long>(1, "the Hessian's finiteness flag");
}

void DeviceHessian::accumulate(const float *x, std::int64_t rows, std::int64_t samples, bool fp16_values) {
  if (finished()) invalid("accumulating into a finished Hessian");
  if (poisoned_) invalid("an earlier batch was not finite; the sums are lost (start a new Hessian)");
  if (rows <= 0) invalid("rows must be > 0, got " + std::to_string(rows));
  if (x == nullptr) invalid("the activations are null");
  if (samples < 0) samples = rows;
  if (samples == 0) invalid("samples must be > 0");
  const cudaStream_t s = dev_->stream();
  const auto k = static_cast<std::size_t>(k_);
  // fp16 values (the calibration forward's linear inputs, widened) are
  // multiplied as fp16, in one product with fp32 accumulation: exact
  // products, a third of bf16x3's work.
  const bool fp16 = fp16_values && !fp64_;
  const std::size_t elem = fp64_ ? sizeof(double) : (fp16 ? 1 : 4) * sizeof(std::uint16_t);
  const std::int64_t chunk =
      std::max<std::int64_t>(1, std::min<std::int64_t>(rows, static_cast<std::int64_t>(kScratchBytes / (k * elem))));
  const std::size_t scratch = static_cast<std::size_t>(chunk) * k;
  if (fp64_ && scratch64_.size() < scratch) {
    scratch64_.reset();
    scratch64_ = DeviceArray<double>(scratch, "fp64 activations");
  } else if (!fp64_ && scratch16_.size() < (fp16 ? 1 : 4) * scratch) {
    scratch16_.reset();
    scratch16_ = DeviceArray<std::uint16_t>((fp16 ? 1 : 4) * scratch, "activations as fp16 or split into bf16");
  }
  for (std::int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const std::int64_t m = std::min(chunk, rows - r0);
    const float *xc = x + static_cast<std::size_t>(r0) * k;
    const std::size_t count = static_cast<std::size_t>(m) * k;
    if (fp64_)
      widen_to_double(xc, scratch64_.get(), count, s);
    else if (fp16)
      to_half_bits(xc, count, scratch16_.get(), s);
    else
      split_bf16(xc, m, k_, scratch16_.get(), s);
    // C[p0:p1, p0:k] += Y[:, p0:p1]^T Y[:, p0:k], column-major C (Y is
    // [m][k] row-major, i.e. k x m column-major). bf16: Y^T Y' over the
    // stacked rows, Y = [hi; hi; lo] (z from row m), Y' = [lo; hi; hi].
    for (std::int64_t p0 = 0; p0 < k_; p0 += kPanel) {
      const int pm = static_cast<int>(std::min(kPanel, k_ - p0));
      const int pn = static_cast<int>(k_ - p0);
      const int ld = static_cast<int>(k_);
      const std::size_t at = static_cast<std::size_t>(p0) * k + static_cast<std::size_t>(p0);
      if (fp64_) {
        const double one = 1.0;
        const double *y = scratch64_.get() + p0;
        GPTQ_CUBLAS_CHECK(cublasDgemm(dev_->blas(), CUBLAS_OP_N, CUBLAS_OP_T, pm, pn, static_cast<int>(m), &one, y, ld,
                                      y, ld, &one, sum64_.get() + at, ld));
      } else if (fp16) {
        const float one = 1.0f;
        const std::uint16_t *y = scratch16_.get() + p0;
        GPTQ_CUBLAS_CHECK(cublasGemmEx(dev_->blas(), CUBLAS_OP_N, CUBLAS_OP_T, pm, pn, static_cast<int>(m), &one, y,
                                       CUDA_R_16F, ld, y, CUDA_R_16F, ld, &one, sum32_.get() + at, CUDA_R_32F, ld,
                                       CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      } else {
        const float one = 1.0f;
        const std::uint16_t *y2 = scratch16_.get() + p0;
        const std::uint16_t *y1 = y2 + static_cast<std::size_t>(m) * k;
        GPTQ_CUBLAS_CHECK(cublasGemmEx(dev_->blas(), CUBLAS_OP_N, CUBLAS_OP_T, pm, pn, static_cast<int>(3 * m), &one,
                                       y1, CUDA_R_16BF, ld, y2, CUDA_R_16BF, ld, &one, sum32_.get() + at, CUDA_R_32F,
                                       ld, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      }
    }
  }
  // As on the CPU: a non-finite activation (or one whose square overflows)
  // leaves its column's diagonal non-finite; only then is the batch scanned
  // to name the element.
  unsigned long long bad = kNone;
  GPTQ_CUDA_CHECK(cudaMemcpyAsync(flag_.get(), &bad, sizeof bad, cudaMemcpyHostToDevice, s));
  first_bad_diagonal(sum32_.get(), sum64_.get(), k_, flag_.get(), s);
  GPTQ_CUDA_CHECK(cudaMemcpyAsync(&bad, flag_.get(), sizeof bad, cudaMemcpyDeviceToHost, s));
  dev_->sync();
  if (bad != kNone) {
    poisoned_ = true;
    const unsigned long long column = bad;
    bad = kNone;
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(flag_.get(), &bad, sizeof bad, cudaMemcpyHostToDevice, s));
    first_non_finite(x, static_cast<std::size_t>(rows) * k, flag_.get(), s);
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(&bad, flag_.get(), sizeof bad, cudaMemcpyDeviceToHost, s));
    dev_->sync();
    if (bad != kNone)
      invalid("activation [" + std::to_string(bad / k) + "][" + std::to_string(bad % k) + "] is not finite");
    invalid("the squares of activation column " + std::to_string(column) + " overflow float");
  }
  n_ += samples;
  if (fp16) dev_->info_once("Hessians of the calibration forward's fp16 activations: one fp16 product each");
}

void DeviceHessian::finish() {
  if (finished()) invalid("the Hessian was finished twice");
  if (poisoned_) invalid("an earlier batch was not finite; the sums are lost (start a new Hessian)");
  const auto kk = static_cast<std::size_t>(k_) * static_cast<std::size_t>(k_);
  DeviceArray<float> h(kk, "the finished Hessian");
  const double scale = n_ > 0 ? 2.0 / static_cast<double>(n_) : 0.0;
  scale_symmetric(sum32_.get(), sum64_.get(), k_, scale, h.get(), dev_->stream());
  dev_->sync();
  h_ = std::move(h);
  sum32_.reset();
  sum64_.reset();
  scratch16_.reset();
  scratch64_.reset();
}

void DeviceHessian::write(const float *host) {
  if (finished()) invalid("writing into a finished Hessian");
  if (host == nullptr) invalid("the host matrix is null");
  const auto kk = static_cast<std::size_t>(k_) * static_cast<std::size_t>(k_);
  DeviceArray<float> h(kk, "the Hessian");
  GPTQ_CUDA_CHECK(cudaMemcpyAsync(h.get(), host, h.bytes(), cudaMemcpyHostToDevice, dev_->stream()));
  dev_->sync();
  h_ = std::move(h);
  sum32_.reset();
  sum64_.reset();
}

void DeviceHessian::read(float *host) const {
  if (host == nullptr) invalid("the host matrix is null");
  GPTQ_CUDA_CHECK(cudaMemcpyAsync(host, matrix(), h_.bytes(), cudaMemcpyDeviceToHost, dev_->stream()));
  dev_->sync();
}

const float *DeviceHessian::matrix() const {
  if (!finished()) invalid("the Hessian was not finished");
  return h_.get();
}

}  // namespace gptq::cuda
