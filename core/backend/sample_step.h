// One step of token choice handed to a forward engine (ForwardEngine::
// run_and_sample): the host sampler's options (core/eval/sampler.h; the same
// for every sequence of the batch) and, per sequence, whether it wants a
// token, the uniform number its own seeded generator drew for this step, and
// the distinct tokens it has seen, for the repetition penalty. The host draws
// the uniforms so that a seed gives one stream of tokens whichever side
// chooses: the engine uses a sequence's number exactly where the host
// sampler would have drawn it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace gptq {

struct SampleStep {
  double temperature = 1.0;  // <= 0: greedy
  std::int64_t top_k = 0;    // 0: off
  double top_p = 1.0;        // >= 1: off
  double repetition_penalty = 1.0;
  std::span<const std::uint8_t> active;  // [batch]: non-zero where a token is wanted
  std::span<const double> uniforms;      // [batch]: each sequence's draw, in [0, 1) (ignored when greedy)
  // Sequence b's distinct seen tokens are seen_ids[seen_offsets[b],
  // seen_offsets[b + 1]); both may be empty when repetition_penalty is 1.
  std::span<const std::int32_t> seen_ids;
  std::span<const std::int64_t> seen_offsets;  // [batch + 1]
};

// What run_and_sample gives a sequence instead of a token id.
inline constexpr std::int32_t kTokenNotWanted = -1;  // its active flag was 0
inline constexpr std::int32_t kTokenOnHost = -2;     // the choice is the host's: its row of logits came back

// Error(InvalidArgument) naming the field when `step` does not fit a batch
// of `batch` sequences over `vocab` tokens (an array of another size,
// offsets out of order or past the ids, a seen id outside the vocabulary).
void check_sample_step(const SampleStep &step, std::int64_t batch, std::int64_t vocab);

// kTokenOnHost for every active sequence, kTokenNotWanted for the others:
// an engine that leaves every choice to the host.
std::vector<std::int32_t> tokens_left_to_host(const SampleStep &step, std::int64_t batch);

}  // namespace gptq
