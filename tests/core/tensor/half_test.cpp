// float <-> fp16: exhaustive round trip of every half, and rounding of floats
// (ties to even, subnormals, overflow, NaN) against a double-precision model.
#include "core/tensor/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace gptq {
namespace {

// Nearest half (ties to even) computed in double: the value grid of halves.
double nearest_half_value(double x) {
  const double ax = std::fabs(x);
  if (ax >= 65520.0) return std::copysign(INFINITY, x);
  const int e = ax < 6.103515625e-05 ? -14 : std::ilogb(ax);
  const double ulp = std::ldexp(1.0, e - 10);
  return std::copysign(std::nearbyint(ax / ulp) * ulp, x);
}

TEST(Half, EveryHalfRoundTrips) {
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    const float f = half_to_float(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(half_to_float(float_to_half(f))));
      continue;
    }
    EXPECT_EQ(float_to_half(f), h) << std::hex << h;
  }
}

TEST(Half, KnownValues) {
  EXPECT_EQ(float_to_half(1.0f), 0x3C00);
  EXPECT_EQ(float_to_half(-2.0f), 0xC000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7BFF);
  EXPECT_EQ(float_to_half(65519.99f), 0x7BFF);
  EXPECT_EQ(float_to_half(65520.0f), 0x7C00);  // tie rounds to even = inf
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(5.9604645e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half(2.9802322e-08f), 0x0000);  // half of it: tie to even
  EXPECT_EQ(float_to_half(2.9802326e-08f), 0x0001);  // just above the tie
  EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), 0x3C00);  // tie -> even
  EXPECT_EQ(float_to_half(1.0f + 3.0f / 2048), 0x3C02);  // tie -> even (up)
  EXPECT_EQ(half_to_float(0x0001), 5.9604645e-08f);
  EXPECT_EQ(half_to_float(0x03FF), 6.0975552e-05f);
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::nanf("")))));
}

TEST(Half, RoundsLikeTheDoubleModel) {
  std::uint32_t x = 12345;
  for (int i = 0; i < 2000000; ++i) {
    x = x * 1664525u + 1013904223u;
    // Finite floats with exponents around the half range.
    const std::uint32_t bits = (x & 0x80FFFFFFu) | ((96u + (x >> 24) % 48u) << 23);
    float f;
    std::memcpy(&f, &bits, 4);
    const double want = nearest_half_value(f);
    EXPECT_EQ(static_cast<double>(half_to_float(float_to_half(f))), want) << f;
  }
}

}  // namespace
}  // namespace gptq
