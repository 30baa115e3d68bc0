#include "core/quant/hessian.h"

#include <cblas.h>

#include <algorithm>
#include <string>

#include "core/error.h"
#include "core/quant/finite_scan.h"

namespace gptq::quant {
namespace {

// Columns per tile of the upper triangle. OpenBLAS's ssyrk runs well below its
// sgemm (784 vs 1224 GFLOP/s at K=4096 on 16 threads of a Xeon, 60% of it on
// 2 cores): its threading splits the triangle poorly. Off-diagonal tiles are
// plain sgemm; only the diagonal ones stay syrk. Below 2 tiles, one syrk.
constexpr std::int64_t kTile = 1024;

// The BLAS routines of one precision, so the tiling below is written once.
void syrk(blasint n, blasint k, float alpha, const float *a, blasint lda, float beta, float *c, blasint ldc) {
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, alpha, a, lda, beta, c, ldc);
}
void syrk(blasint n, blasint k, double alpha, const double *a, blasint lda, double beta, double *c, blasint ldc) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, alpha, a, lda, beta, c, ldc);
}
void gemm_tn(blasint m, blasint n, blasint k, float alpha, const float *a, const float *b, blasint ld, float beta,
             float *c) {
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, alpha, a, ld, b, ld, beta, c, ld);
}
void gemm_tn(blasint m, blasint n, blasint k, double alpha, const double *a, const double *b, blasint ld,
             double beta, double *c) {
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, alpha, a, ld, b, ld, beta, c, ld);
}

// Upper triangle of h = alpha * x^T x + beta * h, x [rows][k], h [k][k].
template <typename T>
void syrk_upper(std::int64_t k, std::int64_t rows, T alpha, const T *x, T beta, T *h) {
  const auto r = static_cast<blasint>(rows), ld = static_cast<blasint>(k);
  for (std::int64_t i0 = 0; i0 < k; i0 += kTile) {
    const auto bi = static_cast<blasint>(std::min(kTile, k - i0));
    syrk(bi, r, alpha, x + i0, ld, beta, h + i0 * k + i0, ld);
    if (i0 + bi < k)
      gemm_tn(bi, static_cast<blasint>(k - i0 - bi), r, alpha, x + i0, x + i0 + bi, ld, beta, h + i0 * k + i0 + bi);
  }
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
  const std::size_t total = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols_);
  if (const auto bad = first_non_finite(x, total, threads_)) {
    const auto k = static_cast<std::size_t>(cols_);
    fail(Status::InvalidArgument, "HessianAccumulator::add_batch: activation [" + std::to_string(*bad / k) + "][" +
                                      std::to_string(*bad % k) + "] is not finite");
  }
  // The sum X^T X is kept and scaled by 2/n when read: the same H as the
  // running average, without a pass over the K x K matrix per batch (beta 1
  // lets BLAS skip it).
  const int beta = n_ == 0 ? 0 : 1;
  if (fp64_) {
    x64_.assign(x, x + total);
    syrk_upper<double>(cols_, rows, 1.0, x64_.data(), beta, h64_.data());
  } else {
    syrk_upper<float>(cols_, rows, 1.0f, x, static_cast<float>(beta), h32_.data());
  }
  n_ += count;
}

std::vector<float> HessianAccumulator::hessian() const {
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
