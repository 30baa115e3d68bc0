// LAPACK's Cholesky factorization and triangular inverse (upper, column-major,
// float64) on a Compute's pool, blocked as LAPACK blocks them, with the block
// updates cut into fixed tiles on the pool: OpenBLAS is held at one thread
// while we compute (core/cpu/single_threaded_blas.h), so its own parallel
// potrf/trtri would run on one. Only the diagonal blocks (kBlock wide) are
// factored or inverted serially. Tiles depend on n alone, so the result does
// not depend on the thread count. Both report their progress as fractions of
// the Compute's current range.
#pragma once

#include <cstdint>

#include "core/cpu/compute.h"

namespace gptq {

// A = U^T U for the symmetric positive definite n x n A (upper triangle read,
// column-major, leading dimension lda); U overwrites the upper triangle, the
// strict lower triangle is left as it was. False when A is not (numerically)
// positive definite; A is then partly overwritten.
bool parallel_potrf_upper(const Compute &compute, std::int64_t n, double *a, std::int64_t lda);

// U^-1 in place of the upper triangular, non-unit n x n U (column-major). False
// when U is singular (a zero on the diagonal).
bool parallel_trtri_upper(const Compute &compute, std::int64_t n, double *a, std::int64_t lda);

}  // namespace gptq
