// Round-to-nearest baseline: every weight goes to the nearest point of the
// same grid GPTQ uses (per row, per group of group_size consecutive input
// columns), with no error feedback and no Hessian. desc_act, static_groups and
// damping have no meaning here and are ignored; g_idx is k / group_size.
#pragma once

#include <cstdint>

#include "core/cpu/compute.h"
#include "core/quant/quant_options.h"
#include "core/quant/quant_result.h"

namespace gptq::quant {

// w: [rows][cols] row-major. Inputs are assumed valid (quantize_matrix.h
// checks them). loss and damp_percent of the result are 0. Rows go in chunks
// on the pool (each row's grid and codes are its own).
QuantResult rtn_quantize(const Compute &compute, const float *w, std::int64_t rows, std::int64_t cols,
                         const QuantOptions &opt);

}  // namespace gptq::quant
