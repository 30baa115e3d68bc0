#include "core/quant/rtn.h"

#include <vector>

#include "core/cpu/row_chunks.h"
#include "core/quant/quant_grid.h"

namespace gptq::quant {

QuantResult rtn_quantize(const Compute &compute, const float *w, std::int64_t rows, std::int64_t cols,
                         const QuantOptions &opt) {
  const std::int64_t group = opt.group_size > 0 ? opt.group_size : cols;
  const std::int64_t groups = cols / group;
  const float maxq = grid_maxq(opt.bits);
  const auto at = [](std::int64_t i) { return static_cast<std::size_t>(i); };

  QuantResult res;
  res.rows = rows;
  res.cols = cols;
  res.bits = opt.bits;
  res.groups = groups;
  res.scales.resize(at(groups * rows));
  res.zeros.resize(at(groups * rows));
  res.g_idx.resize(at(cols));
  res.codes.resize(at(rows * cols));
  res.dequant.resize(at(rows * cols));
  for (std::int64_t g = 0; g < groups; ++g)
    for (std::int64_t c = 0; c < group; ++c) res.g_idx[at(g * group + c)] = static_cast<std::int32_t>(g);

  constexpr std::int64_t kRows = 64;
  for_row_chunks(compute, rows, kRows, [&](std::int64_t r0, std::int64_t r1) {
    const std::int64_t n = r1 - r0;
    // fit_grid reads columns-major data; one group of the chunk at a time.
    std::vector<float> xt(at(group * n)), zero(at(n));
    for (std::int64_t g = 0; g < groups; ++g) {
      const std::int64_t c0 = g * group;
      for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t c = 0; c < group; ++c) xt[at(c * n + r)] = w[at((r0 + r) * cols + c0 + c)];
      float *scale = &res.scales[at(g * rows + r0)];
      fit_grid(xt.data(), group, n, n, opt, scale, zero.data());
      for (std::int64_t r = 0; r < n; ++r) {
        res.zeros[at(g * rows + r0 + r)] = static_cast<std::int32_t>(zero[at(r)]);
        for (std::int64_t c = 0; c < group; ++c) {
          const std::size_t i = at((r0 + r) * cols + c0 + c);
          const float code = grid_code(w[i], scale[r], zero[at(r)], maxq);
          res.codes[i] = static_cast<std::uint8_t>(code);
          res.dequant[i] = grid_dequant(code, scale[r], zero[at(r)]);
        }
      }
    }
  });
  return res;
}

}  // namespace gptq::quant
