// Text generation on a forward engine (the CPU's or the CUDA runtime's): the
// prompt is tokenized as transformers' tokenizer(prompt) (special tokens
// added), run once into the engine's KV cache, then one token at a time is
// chosen by the Sampler's algorithm and fed back: by the engine where its
// logits are (ForwardEngine::run_and_sample; the CUDA engine on the device,
// with the numbers each sequence's Sampler draws here) or by the Sampler on
// the host from the engine's fp32 logits (the CPU engine, and rows a device
// leaves to the host).
// Text is streamed through the tokenizer's StreamDecoder (special tokens left
// out) and a StopStringFilter, so each piece handed to the sink is final:
// whole UTF-8 characters, never part of a stop string.
//
// generate_batch runs several prompts as one batch: their prompts in one
// right-padded forward pass, then one decode step for every live sequence at
// a time (a ragged run, core/model/sequence_counts.h: a finished sequence
// passes count 0 and stays in the KV cache, so the batch keeps its shape and
// the CUDA engine its captured decode graph). Each sequence has its own
// Sampler (seeded from the config, as a lone generate), stop strings, EOS and
// decoder, so its text is the one generate gives its prompt alone, up to the
// rounding of a batched forward pass against a single one (other GEMM shapes
// sum in another order) — and, for dynamic RoPE scaling past
// max_position_embeddings, up to the frequencies, which follow the batch's
// longest sequence as in transformers.
//
// Generation ends at max_new_tokens, at an end-of-sequence token (config.json's
// eos_token_id(s) and the tokenizer's eos token; not emitted) when
// stop_at_eos, at a stop string (not emitted) or when the sink asks. A prompt
// whose tokens plus max_new_tokens exceed the model's context is refused
// before anything runs (core/model/context_length.h), for every architecture.
#pragma once

#include <cstdint>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/backend/forward_engine.h"
#include "core/base/progress.h"
#include "core/cpu/thread_pool.h"
#include "core/tokenizer/tokenizer.h"
#include "schema/gptq_generated.h"

namespace gptq::eval {

enum class StopReason { MaxTokens, Eos, StopString, Sink };

struct GenerationResult {
  std::vector<std::int32_t> prompt_ids;
  std::vector<std::int32_t> tokens;  // generated, without a final EOS
  std::string text;                  // everything handed to the sink
  StopReason reason = StopReason::MaxTokens;
};

// Receives each generated token with the text that became final with it
// (often "", e.g. while a multi-byte character or a possible stop string is
// pending); a last call with id -1 flushes held-back text at the end. Return
// false to stop generating.
using TokenSink = std::function<bool(std::string_view piece, std::int32_t id)>;

// Runs `model` on `engine`, its KV cache the engine's (CPU work on `pool`).
// `progress` sees stage "generate": tokens done (the
// prompt's, as its forward pass goes through the blocks, then one per
// generated token) of the prompt's plus max_new_tokens, at the start, after
// each token and in between during long forward passes; Error(Cancelled)
// when it asks to stop (text already handed to the sink stays handed).
// Throws Error(InvalidArgument) for a prompt that tokenizes to nothing, or
// whose tokens plus max_new_tokens do not fit the model's context (naming the
// numbers).
GenerationResult generate(ThreadPool &pool, const ForwardEngine &engine, const PreparedModel &model,
                          const tokenizer::Tokenizer &tokenizer, std::string_view prompt,
                          const schema::GenerationConfigT &config, const TokenSink &sink = {},
                          const Progress &progress = {});

// As TokenSink, for sequence `sequence` (the prompt's index) of a batch;
// returning false stops that sequence only.
using BatchTokenSink = std::function<bool(std::size_t sequence, std::string_view piece, std::int32_t id)>;

// generate for every prompt, as one batch (see above): one result per prompt,
// in order. Progress: stage "generate", the units every sequence's tokens
// (its prompt's, then one per generated token) of the sum of the prompts'
// tokens plus max_new_tokens each. Every prompt is checked before anything
// runs: Error(InvalidArgument) naming the prompt's index for one that
// tokenizes to nothing or does not fit the context with max_new_tokens, and
// for an empty list.
std::vector<GenerationResult> generate_batch(ThreadPool &pool, const ForwardEngine &engine, const PreparedModel &model,
                                             const tokenizer::Tokenizer &tokenizer,
                                             std::span<const std::string_view> prompts,
                                             const schema::GenerationConfigT &config, const BatchTokenSink &sink = {},
                                             const Progress &progress = {});

}  // namespace gptq::eval
