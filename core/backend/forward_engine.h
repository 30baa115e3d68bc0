// ForwardEngine: the forward pass of a backend. Two uses:
//  - whole model (perplexity, generation): prepare() a model once — where a
//    GPU engine (issue 15) repacks the int4 weights into its kernels' layout
//    and uploads them —, then run() batches of token ids on it, continuing a
//    SequenceCache (the KV cache, owned by the engine, on its device), and get
//    the logits back on the host;
//  - block by block (the calibration pipeline, which streams one block's
//    float weights at a time and replaces them as it quantizes): embed() the
//    calibration ids into Activations, run_block() them through each block,
//    the observer seeing every linear's input.
// The CPU engine (cpu_forward_engine.h) is the reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/backend/activations.h"
#include "core/backend/sample_step.h"
#include "core/cpu/compute.h"
#include "core/io/sharded_checkpoint.h"
#include "core/model/block_weights.h"
#include "core/model/model_config.h"
#include "core/tensor/matrix.h"

namespace gptq {

// A model's weights in the layout of the engine that prepared it, on its
// device. Read-only once made: several threads may run it at once, each with
// its own SequenceCache.
class PreparedModel {
 public:
  virtual ~PreparedModel() = default;
  virtual const model::ModelSpec &spec() const = 0;
};

// The keys and values of `batch` sequences of up to `capacity` positions,
// every layer, where the engine that made it computes.
class SequenceCache {
 public:
  virtual ~SequenceCache() = default;
  virtual std::int64_t batch() const = 0;
  virtual std::int64_t capacity() const = 0;
  // Positions sequence b holds (the same for every layer between runs);
  // sequences of one cache may hold different lengths (batched generation).
  virtual std::int64_t length(std::int64_t b) const = 0;
};

// Host memory an engine has page-locked for its copies (ForwardEngine::
// pin_host), until this is destroyed.
class PinnedHost {
 public:
  virtual ~PinnedHost() = default;
};

// Every operation takes the library call's Compute (progress, cancellation;
// the context's threads for the CPU engine) and throws Error: InvalidArgument
// for shapes or ids that do not fit (naming them), OutOfMemory when the
// device runs out.
class ForwardEngine {
 public:
  virtual ~ForwardEngine() = default;

  // The backend that computes ("cpu", "cuda").
  virtual std::string_view backend() const = 0;

  // Loads every weight of the checkpoint (float or GPTQ) in the engine's
  // layout, reading and converting tensors on the compute's threads where the
  // engine can. Errors as the weight loaders (core/model/block_weights.h).
  virtual std::shared_ptr<const PreparedModel> prepare(const Compute &compute, const model::ModelSpec &spec,
                                                       const io::ShardedCheckpoint &checkpoint) const = 0;
  virtual std::unique_ptr<SequenceCache> make_cache(const PreparedModel &model, std::int64_t batch,
                                                    std::int64_t capacity) const = 0;
  // Runs ids ([batch * seq], sequence-major): logits of every row
  // ([batch * seq, vocab]), or with last_only of each sequence's last valid
  // row ([batch, vocab]). With a cache, sequence b continues after the
  // length(b) positions it holds. counts ([batch], or empty: seq for every
  // sequence) makes the run ragged (core/model/sequence_counts.h): sequence
  // b's ids are its first counts[b] rows, right-padded to seq, and its length
  // grows by counts[b] (0: it does not advance, e.g. it has finished); the
  // padding rows are computed but nothing reads them (a count-0 sequence's
  // last_only row is garbage). Every sequence needs length(b) + seq within the
  // cache's capacity and the model's context. Progress (blocks done) goes to
  // the compute's current range.
  virtual Matrix run(const Compute &compute, const PreparedModel &model, std::span<const std::int32_t> ids,
                     std::int64_t batch, std::int64_t seq, SequenceCache *cache, bool last_only,
                     std::span<const std::int64_t> counts = {}) const = 0;

  // run with last_only, then each active sequence's next token chosen where
  // the logits are, by the host sampler's algorithm (core/eval/sampler.h)
  // with the step's uniforms (core/backend/sample_step.h): per sequence a
  // token id, kTokenNotWanted, or kTokenOnHost, whose row of logits (as run
  // gives it) is then in `logits` ([batch, vocab]; the other rows are
  // unspecified; kept by the caller between steps, so an engine may reuse
  // it). This default (the CPU engine's) leaves every choice to the host; an
  // engine whose logits are on a device chooses there and brings back one
  // id per sequence instead of a row (the CUDA engine, issue 15).
  // InvalidArgument (check_sample_step) for a step that does not fit.
  virtual std::vector<std::int32_t> run_and_sample(const Compute &compute, const PreparedModel &model,
                                                   std::span<const std::int32_t> ids, std::int64_t batch,
                                                   std::int64_t seq, SequenceCache *cache,
                                                   std::span<const std::int64_t> counts, const SampleStep &step,
                                                   Matrix &logits) const {
    check_sample_step(step, batch, model.spec().vocab_size);
    logits = run(compute, model, ids, batch, seq, cache, true, counts);
    return tokens_left_to_host(step, batch);
  }

  // Block 0's input: the embeddings of ids ([batch * seq], sequence-major).
  virtual std::unique_ptr<Activations> embed(const Compute &compute, const model::ModelSpec &spec,
                                             const model::GlobalWeights &globals, std::span<const std::int32_t> ids,
                                             std::int64_t batch, std::int64_t seq) const = 0;
  // A copy of `a` where this engine's block runs compute: in the same place
  // when `a` is this engine's, else read back or put there (host rows the
  // pipeline parked, core/pipeline/parked_hidden.h, go up to a device).
  virtual std::unique_ptr<Activations> copy(const Activations &a) const = 0;
  // Host memory the caller keeps and hands copy() (as LentActivations) and
  // Activations::host (as scratch) often — the pipeline's parked rows —
  // page-locked so those copies run at the bus's speed, until the handle is
  // destroyed (before the memory is freed). Null when the engine has no use
  // for it (the CPU's) or cannot (the system refused: said in the log); the
  // copies work either way.
  virtual std::unique_ptr<PinnedHost> pin_host(void *data, std::size_t bytes) const {
    (void)data;
    (void)bytes;
    return nullptr;
  }
  // Runs block w.layer on `hidden` (made by this engine), replacing it with
  // the block's output; every sequence starts at position 0.
  virtual void run_block(const Compute &compute, const model::ModelSpec &spec, const model::BlockWeights &w,
                         Activations &hidden, std::int64_t batch, std::int64_t seq,
                         const ActivationsObserver &observe) const = 0;
};

}  // namespace gptq
