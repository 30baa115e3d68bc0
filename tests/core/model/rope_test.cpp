// RoPE: transformers' inverse frequencies for each rope type, and the
// rotate-half rotation (identity at position 0, norm-preserving, relative).
#include "core/model/rope.h"

#include "core/base/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>
#include "tests/support/test_compute.h"

namespace gptq::model {
namespace {

TEST(Rope, DefaultFrequencies) {
  RopeConfig r;
  r.theta = 10000.0;
  const std::vector<float> f = rope_inv_freq(r, 8, 2048, 1);
  ASSERT_EQ(f.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(f[i], static_cast<float>(1.0 / std::pow(10000.0, 2.0 * i / 8)));
}

TEST(Rope, LinearDividesEveryFrequency) {
  RopeConfig r;
  r.type = RopeType::Linear;
  r.factor = 4.0;
  const std::vector<float> base = rope_inv_freq(RopeConfig{}, 64, 2048, 1);
  const std::vector<float> f = rope_inv_freq(r, 64, 2048, 1);
  for (std::size_t i = 0; i < f.size(); ++i) EXPECT_FLOAT_EQ(f[i], base[i] / 4.0f);
}

TEST(Rope, DynamicChangesOnlyPastTheContext) {
  RopeConfig r;
  r.type = RopeType::Dynamic;
  r.factor = 2.0;
  EXPECT_EQ(rope_inv_freq(r, 64, 2048, 2048), rope_inv_freq(RopeConfig{}, 64, 2048, 1));
  const std::vector<float> longer = rope_inv_freq(r, 64, 2048, 4096);
  // theta' = theta * (2 * 2 - 1)^(64/62)
  const double theta = 10000.0 * std::pow(3.0, 64.0 / 62.0);
  EXPECT_FLOAT_EQ(longer[5], static_cast<float>(1.0 / std::pow(theta, 10.0 / 64)));
}

TEST(Rope, Llama3KeepsHighAndSlowsLowFrequencies) {
  RopeConfig r;
  r.theta = 500000.0;
  r.type = RopeType::Llama3;
  r.factor = 8.0;
  r.low_freq_factor = 1.0;
  r.high_freq_factor = 4.0;
  r.original_max_position_embeddings = 8192;
  RopeConfig plain;
  plain.theta = 500000.0;
  const std::vector<float> base = rope_inv_freq(plain, 128, 131072, 1);
  const std::vector<float> f = rope_inv_freq(r, 128, 131072, 1);
  EXPECT_FLOAT_EQ(f.front(), base.front());        // wavelength 2*pi < 2048
  EXPECT_FLOAT_EQ(f.back(), base.back() / 8.0f);   // wavelength far above 8192
  for (std::size_t i = 0; i < f.size(); ++i) {
    EXPECT_LE(f[i], base[i]);
    EXPECT_GE(f[i], base[i] / 8.0f * 0.999999f);
  }
}

TEST(Rope, RotateHalfConvention) {
  // One head of dim 4: pairs (x0, x2) and (x1, x3) rotate by pos * inv_freq[i].
  const std::vector<float> inv = {0.5f, 0.25f};
  std::vector<float> x = {1, 2, 3, 4, 1, 2, 3, 4};
  const std::vector<std::int64_t> pos = {0, 3};
  apply_rope(test_compute(), x.data(), 2, 1, 4, pos, inv);
  EXPECT_FLOAT_EQ(x[0], 1);
  EXPECT_FLOAT_EQ(x[3], 4);
  const float c0 = std::cos(1.5f), s0 = std::sin(1.5f), c1 = std::cos(0.75f), s1 = std::sin(0.75f);
  EXPECT_NEAR(x[4], 1 * c0 - 3 * s0, 1e-6);
  EXPECT_NEAR(x[6], 3 * c0 + 1 * s0, 1e-6);
  EXPECT_NEAR(x[5], 2 * c1 - 4 * s1, 1e-6);
  EXPECT_NEAR(x[7], 4 * c1 + 2 * s1, 1e-6);
}

TEST(Rope, OddHeadDimIsRefused) { EXPECT_THROW(rope_inv_freq(RopeConfig{}, 7, 2048, 1), Error); }

}  // namespace
}  // namespace gptq::model
