#include "core/quant/finite_scan.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/cpu/row_chunks.h"

namespace gptq::quant {
namespace {

constexpr std::size_t kStripe = 4096;              // elements tested between early-exit checks
constexpr std::int64_t kSlice = 1 << 20;           // elements per task: below, one thread

bool stripe_finite(const float *x, std::size_t n) {
  bool bad = false;
  for (std::size_t i = 0; i < n; ++i) bad |= !(std::fabs(x[i]) <= FLT_MAX);  // NaN fails the compare
  return !bad;
}

// First non-finite index in [begin, end), or end.
std::size_t scan(const float *x, std::size_t begin, std::size_t end) {
  for (std::size_t s = begin; s < end; s += kStripe) {
    const std::size_t e = std::min(end, s + kStripe);
    if (stripe_finite(x + s, e - s)) continue;
    for (std::size_t i = s; i < e; ++i)
      if (!std::isfinite(x[i])) return i;
  }
  return end;
}

}  // namespace

std::optional<std::size_t> first_non_finite(const Compute &compute, const float *x, std::size_t n) {
  const auto slices = static_cast<std::int64_t>((n + kSlice - 1) / kSlice);
  std::vector<std::size_t> found(static_cast<std::size_t>(slices), std::numeric_limits<std::size_t>::max());
  for_row_chunks(compute, slices, 1, [&](std::int64_t s0, std::int64_t s1) {
    for (std::int64_t s = s0; s < s1; ++s) {
      const auto begin = static_cast<std::size_t>(s) * kSlice;
      const std::size_t end = std::min(n, begin + kSlice);
      const std::size_t at = scan(x, begin, end);
      if (at != end) found[static_cast<std::size_t>(s)] = at;
    }
  });
  for (std::size_t at : found)
    if (at != std::numeric_limits<std::size_t>::max()) return at;
  return std::nullopt;
}

}  // namespace gptq::quant
