// The grid fitted as the reference Quantizer does: range includes 0, sym/asym
// zero points, the all-zero row, and the MSE shrink search.
#include "core/quant/quant_grid.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace gptq::quant {
namespace {

struct Fit {
  float scale, zero;
};

Fit fit_row(const std::vector<float> &v, QuantOptions o) {
  Fit f{};
  fit_grid(v.data(), static_cast<std::int64_t>(v.size()), 1, 1, o, &f.scale, &f.zero);
  return f;
}

TEST(QuantGrid, AsymmetricUsesMinMaxIncludingZero) {
  QuantOptions o;
  o.sym = false;
  o.bits = 4;
  Fit f = fit_row({-1.0f, 0.5f, 2.0f}, o);
  EXPECT_FLOAT_EQ(f.scale, 3.0f / 15.0f);
  EXPECT_EQ(f.zero, std::nearbyint(1.0f / (3.0f / 15.0f)));
  f = fit_row({0.5f, 2.0f}, o);  // min widened to 0
  EXPECT_FLOAT_EQ(f.scale, 2.0f / 15.0f);
  EXPECT_EQ(f.zero, 0.0f);
}

TEST(QuantGrid, PositiveZeroRefitsOnlyTheGroupsWhoseZeroWouldBe0) {
  // Format v1 cannot store a zero of 0 unambiguously (gptq_packing.h): the
  // group keeps its whole range on a grid [-scale, max] with zero 1.
  QuantOptions o;
  o.sym = false;
  o.positive_zero = true;
  for (int bits : {2, 3, 4, 8}) {
    o.bits = bits;
    const float maxq = grid_maxq(bits);
    const std::vector<float> v = {-0.001f, 0.3f, 2.0f};  // min > -scale/2: zero would round to 0
    const Fit f = fit_row(v, o);
    EXPECT_EQ(f.zero, 1.0f) << bits;
    EXPECT_FLOAT_EQ(f.scale, 2.0f / (maxq - 1.0f)) << bits;
    for (float x : v) {  // nothing clips: every value within half a step
      const float q = grid_dequant(grid_code(x, f.scale, f.zero, maxq), f.scale, f.zero);
      EXPECT_LE(std::fabs(q - x), f.scale / 2 * (1 + 1e-6f)) << bits << " " << x;
    }
    EXPECT_EQ(fit_row({2.0f, 0.5f}, o).zero, 1.0f) << bits;  // no negative value at all
    // Groups with zero >= 1 are untouched.
    o.positive_zero = false;
    const Fit plain = fit_row({-1.0f, 0.5f, 2.0f}, o);
    o.positive_zero = true;
    const Fit kept = fit_row({-1.0f, 0.5f, 2.0f}, o);
    EXPECT_EQ(kept.scale, plain.scale);
    EXPECT_EQ(kept.zero, plain.zero);
  }
  // The MSE search's candidates follow the same rule.
  o.bits = 3;
  o.mse.enabled = true;
  o.mse.grid = 20;
  std::vector<float> v(64);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.05f * static_cast<float>(i) - 0.02f;
  EXPECT_GE(fit_row(v, o).zero, 1.0f);
  o.positive_zero = false;
  EXPECT_EQ(fit_row(v, o).zero, 0.0f);
}

TEST(QuantGrid, SymmetricZeroIsHalfRange) {
  QuantOptions o;
  o.sym = true;
  o.bits = 4;
  Fit f = fit_row({-3.0f, 1.0f}, o);
  EXPECT_FLOAT_EQ(f.scale, 6.0f / 15.0f);
  EXPECT_EQ(f.zero, 8.0f);
  o.bits = 3;
  f = fit_row({-1.0f, 2.0f}, o);
  EXPECT_FLOAT_EQ(f.scale, 4.0f / 7.0f);
  EXPECT_EQ(f.zero, 4.0f);
  // No negative value: the reference keeps min = 0 (scale max/maxq).
  o.bits = 4;
  f = fit_row({0.0f, 1.5f}, o);
  EXPECT_FLOAT_EQ(f.scale, 1.5f / 15.0f);
  EXPECT_EQ(f.zero, 8.0f);
}

TEST(QuantGrid, AllZeroRowGetsUnitRange) {
  QuantOptions o;
  o.sym = false;
  o.bits = 2;
  const Fit f = fit_row({0.0f, 0.0f, 0.0f}, o);
  EXPECT_FLOAT_EQ(f.scale, 2.0f / 3.0f);
  EXPECT_EQ(f.zero, 2.0f);  // round(1 / (2/3)) = round(1.5) = 2 (ties to even)
  EXPECT_EQ(grid_dequant(grid_code(0.0f, f.scale, f.zero, 3.0f), f.scale, f.zero), 0.0f);
}

TEST(QuantGrid, CodesRoundHalfToEvenAndClamp) {
  EXPECT_EQ(grid_code(0.5f, 1.0f, 0.0f, 15.0f), 0.0f);
  EXPECT_EQ(grid_code(1.5f, 1.0f, 0.0f, 15.0f), 2.0f);
  EXPECT_EQ(grid_code(100.0f, 1.0f, 0.0f, 15.0f), 15.0f);
  EXPECT_EQ(grid_code(-100.0f, 1.0f, 8.0f, 15.0f), 0.0f);
}

TEST(QuantGrid, MseSearchNeverIncreasesTheNormError) {
  // Gaussian values: at 3 bits the error-optimal range clips the tails.
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(1024);
  for (auto &x : v) x = dist(rng);
  auto err = [&](const Fit &f, float maxq) {
    double e = 0;
    for (float x : v) e += std::pow(std::fabs(grid_dequant(grid_code(x, f.scale, f.zero, maxq), f.scale, f.zero) - x), 2.4);
    return e;
  };
  for (bool sym : {false, true}) {
    QuantOptions o;
    o.sym = sym;
    o.bits = 3;
    const Fit plain = fit_row(v, o);
    o.mse.enabled = true;
    const Fit mse = fit_row(v, o);
    EXPECT_LT(err(mse, 7.0f), err(plain, 7.0f)) << sym;
    EXPECT_LT(mse.scale, plain.scale) << sym;
    EXPECT_GE(mse.scale, plain.scale * 0.2f - 1e-6f) << sym;  // at most max_shrink
  }
}

}  // namespace
}  // namespace gptq::quant
