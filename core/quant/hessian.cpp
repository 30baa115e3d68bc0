#include "core/quant/hessian.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/quant/finite_scan.h"

namespace gptq::quant {
namespace {

constexpr const char *kPoisoned =
    "HessianAccumulator: an earlier batch was not finite; the sums are lost (start a new accumulator)";

// The upper triangle of h = alpha * x^T x + beta * h, x [rows][k], h [k][k],
// as one BLAS syrk. (Tiling it into syrk on diagonal tiles and sgemm beside
// them, tried when a mis-detected OpenBLAS ran syrk far below sgemm, is
// slower with the right kernels: 857 vs 1058 GFLOP/s at K = 4096 on 16 threads
// of the H200 host's Xeon, 208 vs 282 on 2 of them, OpenBLAS 0.3.21 SkylakeX
// kernels, 2026-11-26.)
void syrk_upper(std::int64_t k, std::int64_t rows, float alpha, const float *x, float beta, float *h) {
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<blasint>(k), static_cast<blasint>(rows), alpha, x,
              static_cast<blasint>(k), beta, h, static_cast<blasint>(k));
}
void syrk_upper(std::int64_t k, std::int64_t rows, double alpha, const double *x, double beta, double *h) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<blasint>(k), static_cast<blasint>(rows), alpha, x,
              static_cast<blasint>(k), beta, h, static_cast<blasint>(k));
}

}  // namespace

HessianAccumulator::HessianAccumulator(std::int64_t cols, bool fp64, int threads)
    : cols_(cols), fp64_(fp64), threads_(threads) {
  if (cols <= 0) fail(Status::InvalidArgument, "HessianAccumulator: cols must be > 0, got " + std::to_string(cols));
  const auto size = static_cast<std::size_t>(cols) * static_cast<std::size_t>(cols);
  if (fp64_) {
    h64_.assign(size, 0.0);
  } else {
    h32_.assign(size, 0.0f);
  }
}

void HessianAccumulator::add_batch(const float *x, std::int64_t rows, std::int64_t count) {
  if (rows <= 0) fail(Status::InvalidArgument, "HessianAccumulator::add_batch: rows must be > 0, got " + std::to_string(rows));
  if (x == nullptr) fail(Status::InvalidArgument, "HessianAccumulator::add_batch: x is null");
  if (count < 0) count = rows;
  if (count == 0) fail(Status::InvalidArgument, "HessianAccumulator::add_batch: count must be > 0");
  if (poisoned_) fail(Status::InvalidArgument, kPoisoned);
  const std::size_t total = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols_);
  // The sum X^T X is kept (zero at the start, so beta is always 1 and BLAS
  // makes no pass over H of its own) and scaled by 2/n when read: the same H
  // as the running average.
  if (fp64_) {
    x64_.assign(x, x + total);
    syrk_upper(cols_, rows, 1.0, x64_.data(), 1.0, h64_.data());
  } else {
    syrk_upper(cols_, rows, 1.0f, x, 1.0f, h32_.data());
  }
  // A NaN or infinity in column j of the batch, or a value whose square
  // overflows, leaves H[j][j] = sum of squares non-finite: checking the
  // diagonal afterwards replaces a pass over the batch (9% of the update on
  // 16 threads). The batch is scanned only to name the element.
  const auto k = static_cast<std::size_t>(cols_);
  for (std::size_t j = 0; j < k; ++j) {
    const double d = fp64_ ? h64_[j * k + j] : static_cast<double>(h32_[j * k + j]);
    if (std::isfinite(d)) continue;
    poisoned_ = true;
    if (const auto bad = first_non_finite(x, total, threads_))
      fail(Status::InvalidArgument, "HessianAccumulator::add_batch: activation [" + std::to_string(*bad / k) + "][" +
                                        std::to_string(*bad % k) + "] is not finite");
    fail(Status::InvalidArgument, "HessianAccumulator::add_batch: the squares of activation column " +
                                      std::to_string(j) + " overflow float");
  }
  n_ += count;
}

std::vector<float> HessianAccumulator::hessian() const {
  if (poisoned_) fail(Status::InvalidArgument, kPoisoned);
  const auto k = static_cast<std::size_t>(cols_);
  const double scale = n_ > 0 ? 2.0 / static_cast<double>(n_) : 0.0;
  std::vector<float> h(k * k);
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = i; j < k; ++j) {
      const float v = static_cast<float>(scale * (fp64_ ? h64_[i * k + j] : static_cast<double>(h32_[i * k + j])));
      h[i * k + j] = v;
      h[j * k + i] = v;
    }
  }
  return h;
}

}  // namespace gptq::quant
