// The loss GPTQ minimizes, for any quantized weights: with E = W − Ŵ and the
// layer's Hessian H = 2/n XᵀX, loss = ½ Σ_rows E H Eᵀ — half the increase of
// the squared output error ‖WX − ŴX‖² / n. GPTQ's own reported loss (the sum
// of its per-column OBS errors) equals this for its result; computing it for
// RTN's weights gives the baseline on the same inputs.
#pragma once

#include <cstdint>

#include "core/cpu/compute.h"

namespace gptq::quant {

// w, w_hat: [rows][cols] row-major; hessian: [cols][cols]. Chunks of rows on
// the pool, their sums added in chunk order.
double layer_loss(const Compute &compute, const float *w, const float *w_hat, const float *hessian,
                  std::int64_t rows, std::int64_t cols);

}  // namespace gptq::quant
