#include "core/cpu/parallel_blas.h"

#include <cblas.h>

#include <algorithm>

namespace gptq {
namespace {

// Output tiles are kTile x kTile: a 256 x 256 block keeps OpenBLAS's packed
// panels in cache and gives a K = 4096 product 268M multiply-adds a task
// (tens of milliseconds), few enough tasks for the pool's bookkeeping to
// vanish and enough to share out a 512-token prefill of a small model.
constexpr std::int64_t kTile = 256;

blasint bi(std::int64_t v) { return static_cast<blasint>(v); }
CBLAS_TRANSPOSE cb(Trans t) { return t == Trans::Yes ? CblasTrans : CblasNoTrans; }

// One output row (a decode step's products) is a matrix-vector product:
// sgemm would first pack all of B, as much memory traffic again as the
// product itself.
void gemm_call(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float *a,
               std::int64_t lda, const float *b, std::int64_t ldb, float beta, float *c, std::int64_t ldc) {
  if (m == 1) {
    // c[j] = sum_p op(A)[0][p] op(B)[p][j]: row 0 of op(A) is a with stride 1
    // (A as is) or lda (A transposed).
    const blasint inc = ta == Trans::No ? 1 : bi(lda);
    if (tb == Trans::Yes) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, bi(n), bi(k), alpha, b, bi(ldb), a, inc, beta, c, 1);
    } else {
      cblas_sgemv(CblasRowMajor, CblasTrans, bi(k), bi(n), alpha, b, bi(ldb), a, inc, beta, c, 1);
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, cb(ta), cb(tb), bi(m), bi(n), bi(k), alpha, a, bi(lda), b, bi(ldb), beta, c, bi(ldc));
}
void gemm_call(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double *a,
               std::int64_t lda, const double *b, std::int64_t ldb, double beta, double *c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, cb(ta), cb(tb), bi(m), bi(n), bi(k), alpha, a, bi(lda), b, bi(ldb), beta, c, bi(ldc));
}
void syrk_call(std::int64_t n, std::int64_t k, float alpha, const float *a, std::int64_t lda, float beta, float *c,
               std::int64_t ldc) {
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, bi(n), bi(k), alpha, a, bi(lda), beta, c, bi(ldc));
}
void syrk_call(std::int64_t n, std::int64_t k, double alpha, const double *a, std::int64_t lda, double beta,
               double *c, std::int64_t ldc) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, bi(n), bi(k), alpha, a, bi(lda), beta, c, bi(ldc));
}

std::int64_t tiles(std::int64_t n) { return (n + kTile - 1) / kTile; }

// A Hessian's syrk in the widest tiles that still make 64 tasks (enough to
// share out on 16 threads): each tile packs its two column panels of A once,
// and wider tiles pack less against the multiply-adds (K = 4096, 2048 rows,
// 2 threads, medians: 0.143 s a batch with 512, 0.145 s with 384, 0.148 s
// with 256; OpenBLAS's own threaded ssyrk 0.145 s). K = 4096 gets 384
// (66 tasks), K = 11008 512, K <= 2048 256.
std::int64_t syrk_tile(std::int64_t n) {
  for (std::int64_t tile : {512, 384}) {
    const std::int64_t t = (n + tile - 1) / tile;
    if (t * (t + 1) / 2 >= 64) return tile;
  }
  return kTile;
}

template <class T>
void gemm(const Compute &compute, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
          const T *a, std::int64_t lda, const T *b, std::int64_t ldb, T beta, T *c, std::int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (m * n * k < kInlineBlasWork) {
    gemm_call(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const std::int64_t tm = tiles(m), tn = tiles(n);
  compute.for_each(tm * tn, [&](std::int64_t t) {
    const std::int64_t i0 = t / tn * kTile, j0 = t % tn * kTile;
    const std::int64_t mi = std::min(kTile, m - i0), nj = std::min(kTile, n - j0);
    // Row i of op(A) starts at a + i*lda (NoTrans) or column i at a + i (Trans); the same for op(B)'s columns.
    const T *ai = ta == Trans::No ? a + i0 * lda : a + i0;
    const T *bj = tb == Trans::No ? b + j0 : b + j0 * ldb;
    gemm_call(ta, tb, mi, nj, k, alpha, ai, lda, bj, ldb, beta, c + i0 * ldc + j0, ldc);
  });
}

template <class T>
void syrk_upper(const Compute &compute, std::int64_t n, std::int64_t k, T alpha, const T *a, std::int64_t lda,
                T beta, T *c, std::int64_t ldc) {
  if (n <= 0) return;
  if (n * n * k / 2 < kInlineBlasWork) {
    syrk_call(n, k, alpha, a, lda, beta, c, ldc);
    return;
  }
  const std::int64_t tile = syrk_tile(n), t = (n + tile - 1) / tile;
  compute.for_each_reporting(t * (t + 1) / 2, [&](std::int64_t idx) {  // tiles (i, j), i <= j, row by row
    std::int64_t i = 0;
    while (idx >= t - i) idx -= t - i++;
    const std::int64_t j = i + idx;
    const std::int64_t i0 = i * tile, j0 = j * tile;
    const std::int64_t ni = std::min(tile, n - i0), nj = std::min(tile, n - j0);
    if (i == j) {
      syrk_call(ni, k, alpha, a + i0, lda, beta, c + i0 * ldc + i0, ldc);
    } else {
      gemm_call(Trans::Yes, Trans::No, ni, nj, k, alpha, a + i0, lda, a + j0, lda, beta, c + i0 * ldc + j0, ldc);
    }
  });
}

}  // namespace

void parallel_gemm(const Compute &compute, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k,
                   float alpha, const float *a, std::int64_t lda, const float *b, std::int64_t ldb, float beta,
                   float *c, std::int64_t ldc) {
  gemm(compute, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void parallel_gemm(const Compute &compute, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k,
                   double alpha, const double *a, std::int64_t lda, const double *b, std::int64_t ldb, double beta,
                   double *c, std::int64_t ldc) {
  gemm(compute, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void serial_gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float *a,
                 std::int64_t lda, const float *b, std::int64_t ldb, float beta, float *c, std::int64_t ldc) {
  if (m > 0 && n > 0) gemm_call(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void parallel_syrk_upper(const Compute &compute, std::int64_t n, std::int64_t k, float alpha, const float *a,
                         std::int64_t lda, float beta, float *c, std::int64_t ldc) {
  syrk_upper(compute, n, k, alpha, a, lda, beta, c, ldc);
}
void parallel_syrk_upper(const Compute &compute, std::int64_t n, std::int64_t k, double alpha, const double *a,
                         std::int64_t lda, double beta, double *c, std::int64_t ldc) {
  syrk_upper(compute, n, k, alpha, a, lda, beta, c, ldc);
}

}  // namespace gptq
