#include "core/quant/finite_scan.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/cpu/row_chunks.h"
#include "core/tensor/finite_scan.h"

namespace gptq::quant {
namespace {

constexpr std::int64_t kSlice = 1 << 20;  // elements per task: below, one thread

}  // namespace

std::optional<std::size_t> first_non_finite(const Compute &compute, const float *x, std::size_t n) {
  const auto slices = static_cast<std::int64_t>((n + kSlice - 1) / kSlice);
  std::vector<std::size_t> found(static_cast<std::size_t>(slices), std::numeric_limits<std::size_t>::max());
  for_row_chunks(compute, slices, 1, [&](std::int64_t s0, std::int64_t s1) {
    for (std::int64_t s = s0; s < s1; ++s) {
      const auto begin = static_cast<std::size_t>(s) * kSlice;
      const std::size_t end = std::min(n, begin + kSlice);
      if (const auto at = gptq::first_non_finite(x + begin, end - begin))
        found[static_cast<std::size_t>(s)] = begin + *at;
    }
  });
  for (std::size_t at : found)
    if (at != std::numeric_limits<std::size_t>::max()) return at;
  return std::nullopt;
}

}  // namespace gptq::quant
