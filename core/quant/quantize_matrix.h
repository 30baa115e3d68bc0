// The checked entry points for quantizing one weight matrix: what the C API's
// gptq_quantize_matrix (and the calibration pipeline) call. They validate
// every input first and throw gptq::Error(Status::InvalidArgument) naming the
// layer, the field and the value, so nothing is computed on bad input.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/cpu/compute.h"
#include "core/quant/quant_options.h"
#include "core/quant/quant_result.h"

namespace gptq::quant {

// Checks options against a matrix of `cols` input columns: bits in {2,3,4,8},
// group_size -1 or > 0 dividing cols, block_size >= 1, damping fractions in
// [0, 1], MSE parameters in range.
void validate_options(const QuantOptions &opt, std::int64_t cols, std::string_view layer);

// GPTQ: w [rows][cols] row-major (HF nn.Linear weight), hessian [cols][cols]
// (e.g. HessianAccumulator::hessian()). Rejects non-positive sizes, null
// pointers, NaN/Inf in w or hessian, bad options (InvalidArgument), and an H
// no allowed damping makes positive definite (Numerical). Runs on `compute`
// (the result does not depend on its thread count).
QuantResult quantize_matrix(const Compute &compute, const float *w, std::int64_t rows, std::int64_t cols,
                            const float *hessian, const QuantOptions &opt, std::string_view layer = "matrix");

// Round-to-nearest on the same grid, same checks (no Hessian).
QuantResult rtn_matrix(const Compute &compute, const float *w, std::int64_t rows, std::int64_t cols,
                       const QuantOptions &opt, std::string_view layer = "matrix");

}  // namespace gptq::quant
