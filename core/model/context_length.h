// How many positions a model runs: the one bound, for every architecture, on
// evaluation windows, calibration windows and prompt plus generated tokens.
// Past it a model with learned positions has no embedding and a RoPE model
// meets angles it was never trained on, so both are refused, not run.
#pragma once

#include <cstdint>
#include <string>

#include "core/model/model_config.h"

namespace gptq::model {

// max_position_embeddings, times rope_scaling's factor for "linear" and
// "dynamic" scaling: transformers documents that a factor of x lets a model
// handle x times its original length, and those configs keep the original
// length in max_position_embeddings ("llama3" configs give the extended one
// there already).
std::int64_t context_length(const ModelSpec &spec);

// The context with where it comes from, for messages: "512 positions
// (max_position_embeddings)" or "8192 positions (max_position_embeddings 4096
// x rope_scaling factor 2)".
std::string context_text(const ModelSpec &spec);

// Refuses sequence b of a run of `batch` when its positions would run up to
// `end`, past the context: Error(InvalidArgument) "positions up to N
// (sequence b) exceed the model's context of ...", the sequence named only in
// a batch.
void require_within_context(const ModelSpec &spec, std::int64_t end, std::int64_t b, std::int64_t batch);

}  // namespace gptq::model
