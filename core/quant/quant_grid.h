// The quantization grid: per output row (and per group of input columns) a
// scale and an integer zero point, with codes q = clamp(round(w / scale) + zero,
// 0, 2^bits - 1) and dequantized values scale * (q - zero).
//
// Fitting follows the GPTQ reference's Quantizer (perchannel weights) so codes
// agree with it: the range always includes 0; symmetric grids use
// max(|min|, max) with zero (maxq + 1) / 2 (keeping min = 0 for rows without
// negative values, as the reference does); asymmetric grids use zero =
// round(-min / scale); an all-zero row gets the range [-1, 1]; the optional MSE
// search shrinks the range and keeps the least sum |w - q(w)|^norm per row.
// Rounding is to nearest even, as torch.round. With opt.positive_zero (format
// v1), an asymmetric zero that rounds to 0 becomes 1 with scale max / (maxq -
// 1): the grid [-scale, max] still holds the whole range (min > -scale/2 is
// what rounded the zero to 0), at a step at most maxq / (maxq - 1) coarser
// (15/14 in 4 bits) for that group alone.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/quant/quant_options.h"

namespace gptq::quant {

// Code of x on the grid (scale, zero), as a float holding an integer.
inline float grid_code(float x, float scale, float zero, float maxq) {
  const float q = std::nearbyint(x / scale) + zero;
  return q < 0.0f ? 0.0f : (q > maxq ? maxq : q);
}

inline float grid_dequant(float code, float scale, float zero) { return scale * (code - zero); }

inline float grid_maxq(int bits) { return static_cast<float>((1 << bits) - 1); }

// Fits the grid of `rows` rows from `count` values each; value c of row r is
// xt[c * ld + r] (columns-major, the solver's transposed layout). Writes
// scale[r] and zero[r] (an integer held in a float).
void fit_grid(const float *xt, std::int64_t count, std::int64_t rows, std::int64_t ld,
              const QuantOptions &opt, float *scale, float *zero);

}  // namespace gptq::quant
