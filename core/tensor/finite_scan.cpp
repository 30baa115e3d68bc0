#include "core/tensor/finite_scan.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace gptq {
namespace {

constexpr std::size_t kStripe = 4096;  // elements tested between early-exit checks

bool stripe_finite(const float *x, std::size_t n) {
  bool bad = false;
  for (std::size_t i = 0; i < n; ++i) bad |= !(std::fabs(x[i]) <= FLT_MAX);  // NaN fails the compare
  return !bad;
}

}  // namespace

std::optional<std::size_t> first_non_finite(const float *x, std::size_t n) {
  for (std::size_t s = 0; s < n; s += kStripe) {
    const std::size_t e = std::min(n, s + kStripe);
    if (stripe_finite(x + s, e - s)) continue;
    for (std::size_t i = s; i < e; ++i)
      if (!std::isfinite(x[i])) return i;
  }
  return std::nullopt;
}

}  // namespace gptq
