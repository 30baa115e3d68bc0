#include "core/eval/sampler.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "core/base/error.h"

// Why this is exactly the plain algorithm (tests/core/eval/sampler_reference.h),
// which finds top-k's k-th largest logit by nth_element over the row, computes
// the softmax p over the whole vocabulary, sorts every id by (p ascending, id
// descending), removes the least likely ids while their cumulative mass stays
// <= 1 - top_p, recomputes the softmax and draws:
//  - the k-th largest value of a row is one value however it is found;
//  - the softmax terms exp(l - max) are computed once, only for the logits
//    not removed (removed ones are exactly 0 in the plain sums, and x + 0 == x),
//    and summed in id order as the plain loop does;
//  - in the plain sort every p == 0 comes first and leaves the cumulative sum
//    at exactly 0, below 1 - top_p, so all of them are removed: we remove them
//    without sorting and put the rest in the same total order (checked);
//  - the draw reuses the terms unless top-p removed every logit equal to the
//    max (possible only when another logit's p rounds to the same double:
//    logits closer than exp can see), and sums and divides in id order as
//    the plain loop does.
// The one divergence: with +inf or NaN logits (a finite logit over a tiny
// temperature can overflow to +inf) and top_p < 1 the plain sort gets NaN
// probabilities and its result depends on std::sort's internals; here every
// case with a NaN softmax sum gives the last id, as the plain draw does
// without top-p (a NaN is never removed by top-k, in either).

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

// The float's bits mapped so that unsigned order is float order (-0 just
// below +0, which no comparison below can see).
std::uint32_t ordered_bits(float f) {
  const auto u = std::bit_cast<std::uint32_t>(f);
  return u & 0x80000000u ? ~u : u | 0x80000000u;
}

// The k-th largest logit, as nth_element over the whole row would give it,
// by one counting pass on the top 11 ordered bits and nth_element within the
// one bucket that holds it (a few hundred logits for an LM's row).
float kth_largest(std::span<const float> logits, std::size_t k) {
  constexpr int kShift = 21;
  std::array<std::uint32_t, (1u << (32 - kShift))> count{};
  for (float l : logits) ++count[ordered_bits(l) >> kShift];
  std::size_t bucket = count.size() - 1, above = 0;
  while (above + count[bucket] < k) above += count[bucket--];
  std::vector<float> in_bucket;
  in_bucket.reserve(count[bucket]);
  for (float l : logits)
    if (ordered_bits(l) >> kShift == bucket) in_bucket.push_back(l);
  const auto nth = in_bucket.begin() + static_cast<std::ptrdiff_t>(k - 1 - above);
  std::nth_element(in_bucket.begin(), nth, in_bucket.end(), std::greater<>());
  return *nth;
}

void keep_top_k(std::span<float> logits, std::int64_t k) {
  if (k <= 0 || static_cast<std::size_t>(k) >= logits.size()) return;
  const float kth = kth_largest(logits, static_cast<std::size_t>(k));
  for (float &l : logits)
    if (l < kth) l = kRemoved;
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

// ranked_: the candidates with p > 0 in the plain sort's order, p ascending
// and ties by descending id. p grows with the logit, so a radix sort of the
// logits' 32 bits (with the position, 8 bytes an item) does nearly all the
// work; runs of equal p from different logits (exp or the division cannot
// tell them apart) are then put in descending id, and the result is checked
// against the plain order itself, which std::sort establishes when it fails
// (always for fewer than 1024 candidates, which skip the radix sort).
void Sampler::rank_for_top_p(std::span<const float> logits, double sum) {
  by_logit_.clear();
  for (std::size_t j = candidates_.size(); j-- > 0;) {  // descending position
    const double p = candidates_[j].weight / sum;         // the plain softmax's p, bit for bit
    if (p > 0) by_logit_.push_back(std::uint64_t{ordered_bits(logits[candidates_[j].id])} << 32 | j);
    else candidates_[j].weight = 0;  // first in the plain order, so removed
  }
  const std::size_t n = by_logit_.size();
  if (n >= 1024) {
    // LSD radix sort on the logit (the high half), 11 bits a pass over the
    // bits in which the items differ; stable, so ties keep descending position.
    constexpr int kDigit = 11;
    constexpr std::uint64_t kMask = (1u << kDigit) - 1;
    std::uint64_t differ = 0;
    for (std::uint64_t b : by_logit_) differ |= b ^ by_logit_[0];
    scratch_.resize(n);
    for (int shift = 32; shift < static_cast<int>(std::bit_width(differ)); shift += kDigit) {
      std::array<std::uint32_t, kMask + 1> start{};
      for (std::uint64_t b : by_logit_) ++start[(b >> shift) & kMask];
      std::uint32_t at = 0;
      for (std::uint32_t &s : start) s = std::exchange(at, at + s);
      for (std::uint64_t b : by_logit_) scratch_[start[(b >> shift) & kMask]++] = b;
      by_logit_.swap(scratch_);
    }
  }
  ranked_.clear();
  for (std::uint64_t b : by_logit_) {
    const auto pos = static_cast<std::uint32_t>(b);
    ranked_.push_back({candidates_[pos].weight / sum, pos});
  }
  const auto plain_order = [](const Ranked &a, const Ranked &b) { return a.p != b.p ? a.p < b.p : a.pos > b.pos; };
  for (auto run = ranked_.begin(); run != ranked_.end();) {
    const auto end = std::find_if(run, ranked_.end(), [&](const Ranked &r) { return r.p != run->p; });
    if (!std::is_sorted(run, end, plain_order)) std::sort(run, end, plain_order);
    run = end;
  }
  if (!std::is_sorted(ranked_.begin(), ranked_.end(), plain_order))
    std::sort(ranked_.begin(), ranked_.end(), plain_order);
}

void Sampler::keep_top_p(std::span<float> logits, double sum) {
  rank_for_top_p(logits, sum);
  double cumulative = 0;
  for (std::size_t i = 0; i + 1 < ranked_.size(); ++i) {  // the most likely always stays
    cumulative += ranked_[i].p;
    if (cumulative > 1.0 - options_.top_p) break;
    candidates_[ranked_[i].pos].weight = 0;
  }
  // Keep the rest in id order; mark the removed ones in the logits as the
  // plain code does. Branch-free: which ones go is random.
  std::size_t kept = 0;
  for (const Candidate &c : candidates_) {
    const bool keep = c.weight != 0;
    logits[c.id] = keep ? logits[c.id] : kRemoved;
    candidates_[kept] = c;
    kept += keep;
  }
  candidates_.resize(kept);
}

double Sampler::draw() { return uniform(rng_); }

std::int32_t Sampler::next(std::span<float> logits, std::span<const std::int32_t> history) {
  if (logits.empty()) fail(Status::InvalidArgument, "sampler: empty logits");
  // Drawn before the choice rather than at its end: one number a choice
  // either way, so the stream is the same.
  return next(logits, history, draws() ? draw() : 0.0);
}

std::int32_t Sampler::next(std::span<float> logits, std::span<const std::int32_t> history, double u) {
  if (logits.empty()) fail(Status::InvalidArgument, "sampler: empty logits");
  penalize_repeats(logits, history, options_.repetition_penalty);
  if (!draws()) return static_cast<std::int32_t>(argmax(logits));
  if (options_.temperature != 1.0)  // x / 1.0 == x: skipping it changes nothing
    for (float &l : logits) l = static_cast<float>(l / options_.temperature);
  keep_top_k(logits, options_.top_k);

  // The softmax's terms, once, in id order.
  float max = *std::max_element(logits.begin(), logits.end());
  candidates_.clear();
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] == kRemoved) continue;
    const double w = std::exp(static_cast<double>(logits[i] - max));
    candidates_.push_back({static_cast<std::uint32_t>(i), w});
    sum += w;
  }
  // All logits -inf (sum 0) or a NaN / +inf among them (sum NaN): every
  // plain probability is NaN and its draw ends on the last id (having still
  // taken its number from the generator: u).
  if (!(sum > 0)) {
    return static_cast<std::int32_t>(logits.size() - 1);
  }

  if (!(options_.top_p >= 1.0)) {  // as the plain test: a NaN top_p runs it
    keep_top_p(logits, sum);
    float kept_max = kRemoved;
    for (const Candidate &c : candidates_) kept_max = std::max(kept_max, logits[c.id]);
    if (kept_max != max) {  // every logit equal to max was removed (see the top)
      max = kept_max;
      for (Candidate &c : candidates_) c.weight = std::exp(static_cast<double>(logits[c.id] - max));
    }
    sum = 0;
    for (const Candidate &c : candidates_) sum += c.weight;
  }

  double cumulative = 0;
  std::uint32_t last = 0;
  for (const Candidate &c : candidates_) {
    const double p = c.weight / sum;
    if (p == 0.0) continue;
    cumulative += p;
    last = c.id;
    if (u < cumulative) return static_cast<std::int32_t>(c.id);
  }
  return static_cast<std::int32_t>(last);  // u within rounding of 1
}

}  // namespace gptq::eval
