// The CPU forward pass of one decoder block, in fp32 — what the CPU forward
// engine (core/backend/cpu_forward_engine.h) runs for the calibration
// pipeline, and what the whole-model Forward (core/model/forward.h) runs
// layer after layer.
//
// Calibration use (one block at a time, true-sequential; the pipeline,
// core/quant/quantize_model.cpp, does this through ForwardEngine::run_block):
//   Matrix hidden = embed(spec, globals, ids, batch, seq);   // or the previous block's output
//   for each layer:
//     BlockWeights w = load_block_weights(spec, checkpoint, layer);
//     block_forward(compute, spec, w, hidden, batch, seq, [&](name, input) {
//       on the first member of a sequential group: quantize the group's linears
//       from input's Hessian, replacing w.linear(member).weight by the result
//     });   // hidden is now the quantized block's output, the next block's input
// The observer sees each linear's input just before the linear runs and may
// replace the weights of that linear and of any linear not yet run: they run
// with the weights as they are after the call. It may also end the run there
// (ObserverReply::kStop) when it needs nothing more from it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "core/cpu/compute.h"
#include "core/model/block_weights.h"
#include "core/model/kv_cache.h"
#include "core/model/model_config.h"
#include "core/model/observer_reply.h"
#include "core/tensor/matrix.h"

namespace gptq::model {

// Called once per linear sublayer per block_forward call, in execution order,
// with the sublayer's name within the block (as in sequential_groups) and its
// input: [batch * seq, in_features] rows, valid only during the call. Linears
// that share an input (q/k/v; gate/up) each get a call with the same Matrix
// object, so an observer can accumulate one Hessian per distinct input
// (compare addresses) and hand it to every linear of the group. kStop ends
// the run before the linear: `hidden` (and a cache's new rows) are then
// undefined.
using LinearInputObserver = std::function<ObserverReply(std::string_view sublayer, const Matrix &input)>;

// Runs block w.layer on `hidden` ([batch * seq, hidden_size], sequence-major:
// rows b*seq .. b*seq+seq-1 are sequence b), replacing it with the block's
// output. Without a cache every sequence starts at position 0 and attends
// causally within the call; with one, sequence b continues at position
// cache->length(w.layer, b), attends to its cached positions too, and the
// keys and values are appended, its length growing by counts[b] (a ragged
// run, core/model/sequence_counts.h; empty: by seq). Throws Error(InvalidArgument) for shapes that do
// not match the spec or the cache, Error(Unsupported) for an activation
// function we do not implement. Not thread-safe on the same `hidden`/cache;
// weights are only read. Runs on `compute`'s pool (the observer is called on
// the calling thread).
void block_forward(const Compute &compute, const ModelSpec &spec, const BlockWeights &w, Matrix &hidden,
                   std::int64_t batch, std::int64_t seq, const LinearInputObserver &observe = {},
                   KvCache *cache = nullptr, std::span<const std::int64_t> counts = {});

}  // namespace gptq::model
