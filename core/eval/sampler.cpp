#include "core/eval/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "core/base/error.h"

namespace gptq::eval {
namespace {

constexpr float kRemoved = -std::numeric_limits<float>::infinity();

void penalize_repeats(std::span<float> logits, std::span<const std::int32_t> history, double penalty) {
  if (penalty == 1.0) return;
  std::vector<bool> seen(logits.size(), false);
  for (std::int32_t id : history) {
    if (id < 0 || static_cast<std::size_t>(id) >= logits.size() || seen[static_cast<std::size_t>(id)]) continue;
    seen[static_cast<std::size_t>(id)] = true;
    float &l = logits[static_cast<std::size_t>(id)];
    l = static_cast<float>(l < 0 ? l * penalty : l / penalty);
  }
}

std::size_t argmax(std::span<const float> logits) {
  return static_cast<std::size_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

void keep_top_k(std::span<float> logits, std::int64_t k) {
  if (k <= 0 || static_cast<std::size_t>(k) >= logits.size()) return;
  std::vector<float> sorted(logits.begin(), logits.end());
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<>());
  const float kth = sorted[static_cast<std::size_t>(k - 1)];
  for (float &l : logits)
    if (l < kth) l = kRemoved;
}

// Softmax of the logits in double (removed ones are 0).
std::vector<double> probabilities(std::span<const float> logits) {
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

void keep_top_p(std::span<float> logits, double top_p) {
  if (top_p >= 1.0) return;
  const std::vector<double> p = probabilities(logits);
  std::vector<std::size_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  // Ascending probability; ties by id so the cut does not depend on the sort.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return p[a] != p[b] ? p[a] < p[b] : a > b;
  });
  double cumulative = 0;
  for (std::size_t i = 0; i + 1 < order.size(); ++i) {  // the most likely always stays
    cumulative += p[order[i]];
    if (cumulative > 1.0 - top_p) break;
    logits[order[i]] = kRemoved;
  }
}

// Uniform in [0, 1) from the top 53 bits, independent of the library's
// uniform_real_distribution.
double uniform(std::mt19937_64 &rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace

SamplingOptions SamplingOptions::from(const schema::GenerationConfigT &c) {
  SamplingOptions o;
  o.temperature = c.temperature;
  o.top_k = c.top_k;
  o.top_p = c.top_p;
  o.repetition_penalty = c.repetition_penalty;
  o.seed = c.seed;
  return o;
}

Sampler::Sampler(const SamplingOptions &options) : options_(options), rng_(options.seed) {}

std::int32_t Sampler::next(std::span<float> logits, std::span<const std::int32_t> history) {
  if (logits.empty()) fail(Status::InvalidArgument, "sampler: empty logits");
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

}  // namespace gptq::eval
