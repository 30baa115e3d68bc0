// The factor GPTQ's column updates need: the upper Cholesky factor U of H^-1
// (H^-1 = U^T U), computed from a damped H with the retry policy of GPTQModel:
// damping = damp_percent * mean(diag H); when H + damping is not positive
// definite, damp_percent grows by damp_auto_increment up to kMaxDampPercent.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/cpu/compute.h"
#include "core/quant/quant_options.h"

namespace gptq::quant {

// U of (H + damp I)^-1 for a symmetric positive definite H (both triangles of
// the row-major k x k `h` are read); writes U row-major with zeros below the
// diagonal. Returns false when H + damp I is not (numerically) positive
// definite.
//
// Instead of the reference's cholesky -> cholesky_inverse -> cholesky (four
// O(k^3/3) LAPACK steps) it factors the reversed matrix J H J = R^T R (J the
// exchange matrix, R upper): then H = V V^T with V = J R^T J upper, so
// H^-1 = (V^-1)^T V^-1 and U = V^-1 = J R^-T J: one potrf and one trtri. Both
// reversals are a flat reversal of the array (column-major R read as row-major
// is R^T). The factor is unique, so U equals the reference's up to rounding.
//
// The factorization runs in float64 and U is rounded to float32 once: the
// float32 path of the published code has a relative error of ~1e-5 in U at a
// condition number of 1e4 (measured on the golden Hessians), enough to flip
// codes and, through the error feedback, whole rows; in float64 the only
// difference between implementations is that final rounding.
// Everything runs on `compute`'s pool (core/cpu/parallel_lapack.h): the
// result does not depend on the thread count.
bool inverse_upper_cholesky(const Compute &compute, const float *h, std::int64_t k, float *u, float damp = 0.0f);

// Calls inverse_upper_cholesky with damping, retrying with
// more damping as described above. Returns the damp_percent used. Throws
// Status::Numerical naming `layer` when no damping up to the limit works.
double damped_inverse_upper_cholesky(const Compute &compute, const float *h, std::int64_t k, const QuantOptions &opt,
                                     std::string_view layer, float *u);

}  // namespace gptq::quant
