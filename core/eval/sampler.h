// Choosing the next token from a row of logits, as transformers' generate does
// with its default processors, in this order: repetition penalty (CTRL: a seen
// token's logit is divided by the penalty when positive, multiplied when
// negative), then greedy argmax when temperature is 0, else temperature,
// top-k (ties with the k-th kept), top-p (nucleus: drop the least likely
// tokens whose cumulative probability stays <= 1 - top_p, keeping at least
// one), and a draw from the softmax of what is left.
//
// The draw uses std::mt19937_64 (fully specified by the standard) and our own
// conversion to a uniform double, so a seed gives the same tokens on every
// platform and compiler.
//
// Cost per token: O(vocabulary) passes plus one exp per candidate left after
// top-k; top-p sorts only the candidates with a nonzero probability (a radix
// sort of their logits when there are many). The tokens are bit-for-bit those of the plain
// algorithm (tests/core/eval/sampler_reference.h; sampler_test compares them).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "schema/gptq_generated.h"

namespace gptq::eval {

struct SamplingOptions {
  double temperature = 1.0;  // 0: greedy
  std::int64_t top_k = 0;    // 0: off
  double top_p = 1.0;        // 1: off
  double repetition_penalty = 1.0;
  std::uint64_t seed = 0;

  static SamplingOptions from(const schema::GenerationConfigT &config);
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions &options);

  // The next token. `logits` (one row, the vocabulary) is modified in place;
  // `history` is every token so far (prompt and generated), for the penalty.
  // Takes one number from the generator unless greedy (draws()).
  std::int32_t next(std::span<float> logits, std::span<const std::int32_t> history);

  // The same in two halves, for a caller that hands the choice to a device
  // (ForwardEngine::run_and_sample) and keeps this sampler's stream: whether
  // a choice takes a number (temperature > 0), the number next would take,
  // and next with that number given instead of drawn.
  // next(l, h) == next(l, h, draws() ? draw() : 0.0), token for token.
  bool draws() const { return !(options_.temperature <= 0.0); }
  double draw();
  std::int32_t next(std::span<float> logits, std::span<const std::int32_t> history, double uniform);

 private:
  struct Candidate {
    std::uint32_t id;
    double weight;  // exp(logit - max), the softmax's unnormalized term
  };
  struct Ranked {
    double p;
    std::uint32_t pos;  // index in candidates_, i.e. in id order
  };

  void rank_for_top_p(std::span<const float> logits, double sum);
  void keep_top_p(std::span<float> logits, double sum);

  SamplingOptions options_;
  std::mt19937_64 rng_;
  // Buffers kept between tokens (no allocation per token).
  std::vector<Candidate> candidates_;
  std::vector<std::uint64_t> by_logit_, scratch_;
  std::vector<Ranked> ranked_;
};

}  // namespace gptq::eval
