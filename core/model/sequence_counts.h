// Ragged runs (batched generation): the sequences of one forward run may hold
// different lengths in their KV cache and be extended by different numbers of
// tokens. The run's ids stay [batch * seq], right-padded: sequence b's first
// counts[b] rows are its tokens, the rest padding that is computed (their keys
// and values land past the sequence's new length, where the next run
// overwrites them) but never read.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace gptq::model {

// counts checked against the run ([batch] values in [0, seq]), or seq for
// every sequence when counts is empty (the equal-length run). Throws
// Error(InvalidArgument) naming the sequence whose count does not fit.
std::vector<std::int64_t> sequence_counts(std::span<const std::int64_t> counts, std::int64_t batch,
                                          std::int64_t seq);

// The positions a run covers: max over b of lengths[b] + counts[b] — what
// dynamic RoPE scaling computes its frequencies from, as transformers does for
// a batch (the longest sequence's positions), so one table serves the run.
std::int64_t positions_covered(std::span<const std::int64_t> lengths, std::span<const std::int64_t> counts);

}  // namespace gptq::model
