// The sampler as it was before it was made fast (core/eval/sampler.cpp at
// dda7bc0), kept verbatim as the reference that the fast one must match token
// for token: sampler_test.cpp compares them on random cases and
// bench/sampler_bench.cpp times them side by side. Header-only, test/bench use
// only; do not "fix" it, it is the definition the fast sampler is held to.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include "core/eval/sampler.h"

namespace gptq::eval::reference {

class ReferenceSampler {
 public:
  explicit ReferenceSampler(const SamplingOptions &options) : options_(options), rng_(options.seed) {}

  std::int32_t next(std::span<float> logits, std::span<const std::int32_t> history) {
    penalize_repeats(logits, history, options_.repetition_penalty);
    if (options_.temperature <= 0.0) return static_cast<std::int32_t>(argmax(logits));
    for (float &l : logits) l = static_cast<float>(l / options_.temperature);
    keep_top_k(logits, options_.top_k);
    keep_top_p(logits, options_.top_p);
    const std::vector<double> p = probabilities(logits);
    const double u = uniform(rng_);
    double cumulative = 0;
    std::size_t last = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (p[i] == 0.0) continue;
      cumulative += p[i];
      last = i;
      if (u < cumulative) return static_cast<std::int32_t>(i);
    }
    return static_cast<std::int32_t>(last);  // u within rounding of 1
  }

 private:
  static constexpr float kRemoved = -std::numeric_limits<float>::infinity();

  static void penalize_repeats(std::span<float> logits, std::span<const std::int32_t> history, double penalty) {
    if (penalty == 1.0) return;
    std::vector<bool> seen(logits.size(), false);
    for (std::int32_t id : history) {
      if (id < 0 || static_cast<std::size_t>(id) >= logits.size() || seen[static_cast<std::size_t>(id)]) continue;
      seen[static_cast<std::size_t>(id)] = true;
      float &l = logits[static_cast<std::size_t>(id)];
      l = static_cast<float>(l < 0 ? l * penalty : l / penalty);
    }
  }

  static std::size_t argmax(std::span<const float> logits) {
    return static_cast<std::size_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }

  static void keep_top_k(std::span<float> logits, std::int64_t k) {
    if (k <= 0 || static_cast<std::size_t>(k) >= logits.size()) return;
    std::vector<float> sorted(logits.begin(), logits.end());
    std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<>());
    const float kth = sorted[static_cast<std::size_t>(k - 1)];
    for (float &l : logits)
      if (l < kth) l = kRemoved;
  }

  static std::vector<double> probabilities(std::span<const float> logits) {
    const float max = *std::max_element(logits.begin(), logits.end());
    std::vector<double> p(logits.size());
    double sum = 0;
    for (std::size_t i = 0; i < logits.size(); ++i) {
      p[i] = logits[i] == kRemoved ? 0.0 : std::exp(static_cast<double>(logits[i] - max));
      sum += p[i];
    }
    for (double &v : p) v /= sum;
    return p;
  }

  static void keep_top_p(std::span<float> logits, double top_p) {
    if (top_p >= 1.0) return;
    const std::vector<double> p = probabilities(logits);
    std::vector<std::size_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return p[a] != p[b] ? p[a] < p[b] : a > b;
    });
    double cumulative = 0;
    for (std::size_t i = 0; i + 1 < order.size(); ++i) {
      cumulative += p[order[i]];
      if (cumulative > 1.0 - top_p) break;
      logits[order[i]] = kRemoved;
    }
  }

  static double uniform(std::mt19937_64 &rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace gptq::eval::reference
