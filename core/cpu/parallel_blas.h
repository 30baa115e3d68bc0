// Level-3 BLAS on a Compute's pool. OpenBLAS is held at one thread while we
// compute (core/cpu/single_threaded_blas.h), so the parallelism is ours: the
// output is cut into tiles fixed by the shape alone (never by the thread
// count), each tile one single-threaded OpenBLAS call over the whole inner
// dimension. A result is therefore the same whichever thread computes a tile
// and however many threads there are. Small products (below kInline
// multiply-adds) are one call on the calling thread: a decode step's
// products do not pay for waking the workers.
#pragma once

#include <cstdint>

#include "core/cpu/compute.h"

namespace gptq {

enum class Trans { No, Yes };

// Below this many multiply-adds a product is one BLAS call on the caller
// (OpenBLAS's own threshold for threading a gemm is the same).
constexpr std::int64_t kInlineBlasWork = std::int64_t{1} << 18;

// C = alpha * op(A) op(B) + beta * C, row-major, m x n output, inner size k
// (cblas_?gemm's arguments).
void parallel_gemm(const Compute &compute, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k,
                   float alpha, const float *a, std::int64_t lda, const float *b, std::int64_t ldb, float beta,
                   float *c, std::int64_t ldc);
void parallel_gemm(const Compute &compute, Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k,
                   double alpha, const double *a, std::int64_t lda, const double *b, std::int64_t ldb, double beta,
                   double *c, std::int64_t ldc);

// The same as one OpenBLAS call on this thread: for a task's own product
// (OpenBLAS held at one thread by the task's Compute).
void serial_gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float *a,
                 std::int64_t lda, const float *b, std::int64_t ldb, float beta, float *c, std::int64_t ldc);

// The upper triangle of C = alpha * A^T A + beta * C, row-major: A is k x n
// (k rows of n), C n x n (cblas_?syrk Upper, Trans). Diagonal tiles are one
// syrk each, the tiles beside them one gemm each (half the multiply-adds of a
// full product). A task's work grows with k: callers with many rows feed
// them in chunks (core/quant/hessian.cpp). The share of tiles done is
// reported as the fraction done of the compute's current range.
void parallel_syrk_upper(const Compute &compute, std::int64_t n, std::int64_t k, float alpha, const float *a,
                         std::int64_t lda, float beta, float *c, std::int64_t ldc);
void parallel_syrk_upper(const Compute &compute, std::int64_t n, std::int64_t k, double alpha, const double *a,
                         std::int64_t lda, double beta, double *c, std::int64_t ldc);

}  // namespace gptq
