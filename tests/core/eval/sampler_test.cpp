// Sampler: greedy, the CTRL repetition penalty, top-k, top-p, temperature,
// and seeded draws that are the same on every platform.
#include "core/eval/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tests/core/eval/sampler_reference.h"

namespace gptq::eval {
namespace {

SamplingOptions options(double temperature, std::int64_t top_k = 0, double top_p = 1.0, double penalty = 1.0,
                        std::uint64_t seed = 0) {
  SamplingOptions o;
  o.temperature = temperature;
  o.top_k = top_k;
  o.top_p = top_p;
  o.repetition_penalty = penalty;
  o.seed = seed;
  return o;
}

std::int32_t pick(Sampler &s, std::vector<float> logits, std::vector<std::int32_t> history = {}) {
  return s.next(logits, history);
}

TEST(Sampler, GreedyTakesTheFirstLargest) {
  Sampler s(options(0.0));
  EXPECT_EQ(pick(s, {0.1f, 3.0f, 3.0f, -1.0f}), 1);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  Sampler s(options(0.0, 0, 1.0, 2.0));
  std::vector<float> logits = {2.0f, 1.5f, -1.0f, -1.5f};
  std::vector<std::int32_t> history = {0, 0, 2};
  EXPECT_EQ(s.next(logits, history), 1);
  EXPECT_EQ(logits, (std::vector<float>{1.0f, 1.5f, -2.0f, -1.5f}));  // each seen token once
}

TEST(Sampler, TopKOneAndTinyTopPAreGreedy) {
  Sampler k(options(1.0, 1, 1.0, 1.0, 5));
  Sampler p(options(1.0, 0, 0.01, 1.0, 5));
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(pick(k, {0.0f, 0.5f, 0.4f}), 1);
    EXPECT_EQ(pick(p, {0.0f, 0.5f, 0.4f}), 1);
  }
}

TEST(Sampler, TopPKeepsTheNucleus) {
  // Probabilities 0.5, 0.3, 0.15, 0.05: top_p 0.75 keeps the first two
  // (dropping tokens whose ascending cumulative mass stays <= 0.25).
  Sampler s(options(1.0, 0, 0.75, 1.0, 11));
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  int counts[4] = {};
  for (int i = 0; i < 4000; ++i) ++counts[pick(s, logits)];
  EXPECT_EQ(counts[2], 0);
  EXPECT_EQ(counts[3], 0);
  EXPECT_NEAR(counts[0] / 4000.0, 0.625, 0.03);
}

TEST(Sampler, DrawsFollowTheSoftmax) {
  Sampler s(options(1.0, 0, 1.0, 1.0, 123));
  const std::vector<float> logits = {std::log(0.1f), std::log(0.2f), std::log(0.7f)};
  int counts[3] = {};
  for (int i = 0; i < 20000; ++i) ++counts[pick(s, logits)];
  EXPECT_NEAR(counts[0] / 20000.0, 0.1, 0.015);
  EXPECT_NEAR(counts[1] / 20000.0, 0.2, 0.015);
  EXPECT_NEAR(counts[2] / 20000.0, 0.7, 0.015);
}

TEST(Sampler, HighTemperatureFlattens) {
  Sampler s(options(100.0, 0, 1.0, 1.0, 9));
  int zero = 0;
  for (int i = 0; i < 4000; ++i) zero += pick(s, {0.0f, 2.0f}) == 0;
  EXPECT_NEAR(zero / 4000.0, 0.495, 0.03);
}

TEST(Sampler, SeededDrawsArePinned) {
  // mt19937_64 is specified bit for bit and the uniform conversion is ours,
  // so these ids hold on every platform.
  Sampler s(options(1.0, 0, 1.0, 1.0, 42));
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(pick(s, {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f}));
  EXPECT_EQ(ids, (std::vector<std::int32_t>{6, 5, 6, 1, 7, 1, 5, 3, 2, 3, 0, 4}));
  Sampler again(options(1.0, 0, 1.0, 1.0, 42));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(pick(again, {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f}), ids[i]);
}

// The fast sampler against the plain algorithm it replaced: the same token
// and the same logits left behind, draw after draw, on random rows built to
// hit the edges (ties, -inf, underflowing exps and probabilities, logits too
// close for exp to tell apart, top-k at 1 / vocab-1 / vocab, top-p near 0
// and 1). The two do the same floating-point operations in the same order,
// so equality is exact on any CPU.
std::vector<float> random_row(std::mt19937_64 &rng, std::size_t vocab, int kind) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> few(0, 3);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> row(vocab);
  for (float &l : row) {
    switch (kind) {
      case 0: l = normal(rng) * 3.0f; break;                        // like an LM's logits
      case 1: l = static_cast<float>(few(rng)) * 0.5f; break;       // heavy ties
      case 2: l = unit(rng) < 0.3f ? -inf : normal(rng); break;     // masked ids
      case 3: l = normal(rng) * 400.0f; break;                      // most exps underflow to 0
      case 4: l = static_cast<float>(few(rng)) * 1e-40f; break;     // exp cannot tell them apart
      case 5: l = few(rng) ? 0.0f : -740.0f - static_cast<float>(few(rng)); break;  // p rounds to 0, exp does not
      default: l = -inf;                                            // nothing left
    }
  }
  if (kind == 2 && unit(rng) < 0.2f) row[rng() % vocab] = 0.0f;  // sometimes a single survivor
  return row;
}

std::string describe(const SamplingOptions &o, std::size_t vocab, int kind, int draw) {
  return "vocab " + std::to_string(vocab) + " kind " + std::to_string(kind) + " temperature " +
         std::to_string(o.temperature) + " top_k " + std::to_string(o.top_k) + " top_p " +
         std::to_string(o.top_p) + " penalty " + std::to_string(o.repetition_penalty) + " seed " +
         std::to_string(o.seed) + " draw " + std::to_string(draw);
}

void expect_same_as_reference(std::size_t vocab, int cases, int draws, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const double temperatures[] = {0.0, 0.01, 0.7, 1.0, 1.5, 100.0};
  const double top_ps[] = {1.0, 0.0, 1e-9, 0.5, 0.9, 0.95, 1.0 - 1e-12};
  const double penalties[] = {1.0, 1.1, 0.5, 3.0};
  const auto v = static_cast<std::int64_t>(vocab);
  const std::int64_t top_ks[] = {0, 1, 2, 50, v - 1, v, v + 3};
  for (int c = 0; c < cases; ++c) {
    SamplingOptions o;
    o.temperature = temperatures[rng() % std::size(temperatures)];
    o.top_p = rng() % 4 == 0 ? static_cast<double>(rng() >> 11) * 0x1.0p-53 : top_ps[rng() % std::size(top_ps)];
    o.top_k = std::max<std::int64_t>(0, top_ks[rng() % std::size(top_ks)]);
    o.repetition_penalty = penalties[rng() % std::size(penalties)];
    o.seed = rng();
    const int kind = static_cast<int>(rng() % 7);
    Sampler fast(o), halves(o);
    reference::ReferenceSampler plain(o);
    std::vector<std::int32_t> history;
    for (int i = 0; i < 40; ++i) history.push_back(static_cast<std::int32_t>(rng() % (vocab + 2)) - 1);
    for (int d = 0; d < draws; ++d) {
      std::vector<float> a = random_row(rng, vocab, kind), b = a, apart = a;
      const std::int32_t got = fast.next(a, history), want = plain.next(b, history);
      ASSERT_EQ(got, want) << describe(o, vocab, kind, d);
      ASSERT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << describe(o, vocab, kind, d);
      // The two halves a device caller uses (draw here, choose with the
      // number given) keep the same stream.
      const double u = halves.draws() ? halves.draw() : 0.0;
      ASSERT_EQ(halves.next(apart, history, u), want) << "drawn apart: " << describe(o, vocab, kind, d);
      history.push_back(got);
    }
  }
}

TEST(Sampler, NonFiniteLogitsGiveTheLastIdAndStillDraw) {
  // The plain draw over a NaN softmax (a NaN or +inf logit, or all -inf)
  // ends on the last id; without top-p the two agree, with it the plain
  // result rests on std::sort's handling of NaN and ours stays the last id.
  // Either way the generator moves on, so the next draw still agrees.
  constexpr float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::vector<float>> rows = {
      {0.5f, nan, 1.0f, 0.0f, -1.0f}, {0.5f, inf, 1.0f, inf, -1.0f}, {-inf, -inf, -inf, -inf, -inf}};
  for (const double top_p : {1.0, 0.9}) {
    for (const auto &row : rows) {
      Sampler fast(options(1.0, 0, top_p, 1.0, 3));
      reference::ReferenceSampler plain(options(1.0, 0, top_p, 1.0, 3));
      std::vector<float> a = row, b = row;
      EXPECT_EQ(fast.next(a, {}), 4);
      if (top_p == 1.0 || row[0] == -inf) EXPECT_EQ(plain.next(b, {}), 4);
      else (void)plain.next(b, {});
      const std::vector<float> finite = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
      EXPECT_EQ(pick(fast, finite), [&] { std::vector<float> c = finite; return plain.next(c, {}); }());
    }
  }
}

TEST(Sampler, SameTokensAsThePlainAlgorithmSmallVocabularies) {
  for (std::size_t vocab : {1, 2, 3, 5, 17, 100}) expect_same_as_reference(vocab, 300, 6, 1000 + vocab);
}

TEST(Sampler, SameTokensAsThePlainAlgorithmAroundTheRadixSortSize) {
  // The nucleus sort switches from std::sort to a radix sort at 1024 candidates.
  for (std::size_t vocab : {1000, 1023, 1024, 1025, 1100, 5000}) expect_same_as_reference(vocab, 60, 4, vocab);
}

TEST(Sampler, SameTokensAsThePlainAlgorithmLargeVocabularies) {
  for (std::size_t vocab : {32000, 130000}) expect_same_as_reference(vocab, 8, 2, vocab);
}

}  // namespace
}  // namespace gptq::eval
