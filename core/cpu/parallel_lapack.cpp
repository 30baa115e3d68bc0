#include "core/cpu/parallel_lapack.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <memory>

namespace gptq {
namespace {

// Diagonal blocks and tiles of the updates: 256 x 256 x 256 float64
// multiply-adds (16.8M) a tile task, and a serial factorization of a 256 block
// (2.8M) per step, against (n - k)^2 * 256 / 2 of parallel update.
constexpr std::int64_t kBlock = 256;

blasint bi(std::int64_t v) { return static_cast<blasint>(v); }

double cube(double x) { return x * x * x; }

}  // namespace

bool parallel_potrf_upper(const Compute &compute, std::int64_t n, double *a, std::int64_t lda) {
  auto at = [&](std::int64_t i, std::int64_t j) { return a + i + j * lda; };
  for (std::int64_t k0 = 0; k0 < n; k0 += kBlock) {
    const std::int64_t kb = std::min(kBlock, n - k0), r0 = k0 + kb, m = n - r0;
    if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', static_cast<lapack_int>(kb), at(k0, k0),
                            static_cast<lapack_int>(lda)) != 0)
      return false;
    if (m == 0) break;
    const std::int64_t t = (m + kBlock - 1) / kBlock;
    // The block row right of the diagonal block: A12 = U11^-T A12, by tiles of columns.
    compute.for_each(t, [&](std::int64_t j) {
      const std::int64_t c0 = r0 + j * kBlock, w = std::min(kBlock, n - c0);
      cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, bi(kb), bi(w), 1.0, at(k0, k0),
                  bi(lda), at(k0, c0), bi(lda));
    });
    // The trailing matrix: A22 -= A12^T A12, upper tiles (i <= j). The work
    // left after a step is the cube of the trailing size.
    const auto part = compute.part(1.0 - cube(static_cast<double>(n - k0) / static_cast<double>(n)),
                                   1.0 - cube(static_cast<double>(m) / static_cast<double>(n)));
    compute.for_each_reporting(t * (t + 1) / 2, [&](std::int64_t idx) {
      std::int64_t i = 0;
      while (idx >= t - i) idx -= t - i++;
      const std::int64_t j = i + idx;
      const std::int64_t i0 = r0 + i * kBlock, j0 = r0 + j * kBlock;
      const std::int64_t ni = std::min(kBlock, n - i0), nj = std::min(kBlock, n - j0);
      if (i == j) {
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, bi(ni), bi(kb), -1.0, at(k0, i0), bi(lda), 1.0,
                    at(i0, i0), bi(lda));
      } else {
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, bi(ni), bi(nj), bi(kb), -1.0, at(k0, i0), bi(lda),
                    at(k0, j0), bi(lda), 1.0, at(i0, j0), bi(lda));
      }
    });
  }
  return true;
}

bool parallel_trtri_upper(const Compute &compute, std::int64_t n, double *a, std::int64_t lda) {
  auto at = [&](std::int64_t i, std::int64_t j) { return a + i + j * lda; };
  // Block column j0 of the inverse, rows above its diagonal block, from the
  // inverse of the leading j0 x j0 part (done): X01 = -inv(U00) U01 inv(U11).
  // Row block r of inv(U00) U01 needs U01's rows from r down, which other
  // tasks overwrite, so U01 is copied first; each row block is then a task of
  // its own: a trmm with the diagonal block of inv(U00), a gemm with the rest
  // (from the copy), and the solve with U11 on the right.
  const auto scratch = std::make_unique_for_overwrite<double[]>(static_cast<std::size_t>(n * kBlock));
  for (std::int64_t j0 = 0; j0 < n; j0 += kBlock) {
    const std::int64_t jb = std::min(kBlock, n - j0);
    if (j0 > 0) {
      double *b = scratch.get();  // j0 x jb, column-major, leading dimension j0
      for (std::int64_t c = 0; c < jb; ++c) std::copy_n(at(0, j0 + c), j0, b + c * j0);
      const std::int64_t t = (j0 + kBlock - 1) / kBlock;
      // The work up to a block column grows with the cube of its end.
      const auto part = compute.part(cube(static_cast<double>(j0) / static_cast<double>(n)),
                                     cube(static_cast<double>(j0 + jb) / static_cast<double>(n)));
      compute.for_each_reporting(t, [&](std::int64_t r) {
        const std::int64_t i0 = r * kBlock, ni = std::min(kBlock, j0 - i0), below = j0 - i0 - ni;
        double *x = at(i0, j0);  // still U01's rows: no other task writes them
        cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, bi(ni), bi(jb), 1.0,
                    at(i0, i0), bi(lda), x, bi(lda));
        if (below > 0)
          cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, bi(ni), bi(jb), bi(below), 1.0, at(i0, i0 + ni),
                      bi(lda), b + i0 + ni, bi(j0), 1.0, x, bi(lda));
        cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, bi(ni), bi(jb), -1.0,
                    at(j0, j0), bi(lda), x, bi(lda));
      });
    }
    if (LAPACKE_dtrtri_work(LAPACK_COL_MAJOR, 'U', 'N', static_cast<lapack_int>(jb), at(j0, j0),
                            static_cast<lapack_int>(lda)) != 0)
      return false;
  }
  return true;
}

}  // namespace gptq
