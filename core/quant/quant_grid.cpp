#include "core/quant/quant_grid.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace gptq::quant {
namespace {

// Range [xmin, xmax] of each row, widened to include 0 and made symmetric or
// degenerate-safe exactly as the reference Quantizer.find_params does.
void row_ranges(const float *xt, std::int64_t count, std::int64_t rows, std::int64_t ld, bool sym,
                float *xmin, float *xmax) {
  std::fill(xmin, xmin + rows, 0.0f);
  std::fill(xmax, xmax + rows, 0.0f);
  for (std::int64_t c = 0; c < count; ++c) {
    const float *x = xt + c * ld;
    for (std::int64_t r = 0; r < rows; ++r) {
      xmin[r] = std::min(xmin[r], x[r]);
      xmax[r] = std::max(xmax[r], x[r]);
    }
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    if (sym) {
      xmax[r] = std::max(std::fabs(xmin[r]), xmax[r]);
      if (xmin[r] < 0.0f) xmin[r] = -xmax[r];
    }
    if (xmin[r] == 0.0f && xmax[r] == 0.0f) {
      xmin[r] = -1.0f;
      xmax[r] = 1.0f;
    }
  }
}

// A zero of 0 (only asymmetric grids have one) becomes 1, the scale then
// reaching `hi` with the top code; see the header.
void keep_zero_positive(float hi, float maxq, float &scale, float &zero) {
  if (zero >= 1.0f) return;
  zero = 1.0f;
  scale = hi / (maxq - 1.0f);
}

}  // namespace

void fit_grid(const float *xt, std::int64_t count, std::int64_t rows, std::int64_t ld,
              const QuantOptions &opt, float *scale, float *zero) {
  const float maxq = grid_maxq(opt.bits);
  const float sym_zero = (maxq + 1.0f) / 2.0f;
  std::vector<float> xmin(static_cast<std::size_t>(rows)), xmax(static_cast<std::size_t>(rows));
  row_ranges(xt, count, rows, ld, opt.sym, xmin.data(), xmax.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    scale[r] = (xmax[r] - xmin[r]) / maxq;
    zero[r] = opt.sym ? sym_zero : std::nearbyint(-xmin[r] / scale[r]);
    if (opt.positive_zero) keep_zero_positive(xmax[r], maxq, scale[r], zero[r]);
  }
  if (!opt.mse.enabled) return;

  // Shrink search: step i tries the range p * [xmin, xmax] with p = 1 - i/grid.
  // The step count is int(max_shrink * grid) as in the reference; the epsilon
  // keeps e.g. 0.7f * 100 from truncating to 69.
  const int steps = static_cast<int>(static_cast<double>(opt.mse.max_shrink) * opt.mse.grid + 1e-4);
  std::vector<float> best(static_cast<std::size_t>(rows), std::numeric_limits<float>::infinity());
  std::vector<float> s1(static_cast<std::size_t>(rows)), z1(static_cast<std::size_t>(rows)),
      err(static_cast<std::size_t>(rows));
  const float norm = opt.mse.norm;
  for (int i = 0; i < steps; ++i) {
    const auto p = static_cast<float>(1.0 - static_cast<double>(i) / opt.mse.grid);
    for (std::int64_t r = 0; r < rows; ++r) {
      const float lo = p * xmin[r], hi = p * xmax[r];
      s1[r] = (hi - lo) / maxq;
      z1[r] = opt.sym ? zero[r] : std::nearbyint(-lo / s1[r]);
      if (opt.positive_zero) keep_zero_positive(hi, maxq, s1[r], z1[r]);
      err[r] = 0.0f;
    }
    for (std::int64_t c = 0; c < count; ++c) {
      const float *x = xt + c * ld;
      for (std::int64_t r = 0; r < rows; ++r) {
        const float q = grid_dequant(grid_code(x[r], s1[r], z1[r], maxq), s1[r], z1[r]);
        err[r] += std::pow(std::fabs(q - x[r]), norm);
      }
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      if (err[r] < best[r]) {
        best[r] = err[r];
        scale[r] = s1[r];
        zero[r] = z1[r];
      }
    }
  }
}

}  // namespace gptq::quant
