// The whole-model CPU forward pass in fp32: token (and learned position)
// embeddings, the blocks (core/model/block_forward.h), the final norm and the
// output projection (lm_head, or the embeddings when tied).
//
// embed() and logits() work on GlobalWeights alone, so a caller streaming
// blocks (the calibration pipeline) can use them; Forward keeps every block's
// fp32 weights resident for evaluation and generation (4 bytes per parameter).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/io/sharded_checkpoint.h"
#include "core/model/block_forward.h"
#include "core/model/block_weights.h"
#include "core/model/kv_cache.h"
#include "core/model/model_config.h"
#include "core/tensor/matrix.h"

namespace gptq::model {

// Hidden states [batch * seq, hidden_size] of ids ([batch * seq],
// sequence-major), sequence b at positions past[b] .. past[b] + seq - 1 (past
// empty: every sequence from 0). Throws Error(InvalidArgument) for an id
// outside [0, vocab_size) (naming it and its index) or positions past the
// model's context (core/model/context_length.h), padding rows included.
Matrix embed(const Compute &compute, const ModelSpec &spec, const GlobalWeights &g,
             std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t seq,
             std::span<const std::int64_t> past = {});

// Logits [rows, vocab_size] of the last block's output rows: final norm (when
// the model has one), OPT's project_out, then lm_head.
Matrix logits(const Compute &compute, const ModelSpec &spec, const GlobalWeights &g, const Matrix &hidden);

class Forward {
 public:
  // Loads every weight as fp32 (float or GPTQ checkpoint). Errors as
  // load_block_weights / load_global_weights.
  Forward(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint);

  const ModelSpec &spec() const { return spec_; }
  const GlobalWeights &globals() const { return globals_; }
  const BlockWeights &block(std::int64_t layer) const { return blocks_.at(static_cast<std::size_t>(layer)); }

  // A cache for `batch` sequences of up to `capacity` positions.
  KvCache make_cache(std::int64_t batch, std::int64_t capacity) const;

  // Runs ids ([batch * seq], sequence-major) through the model: the logits of
  // every row ([batch * seq, vocab]), or with last_only of each sequence's last
  // valid row ([batch, vocab]; row 0's for a sequence with count 0). With a
  // cache, each sequence continues after what it holds and it is extended,
  // sequence b by counts[b] of its rows (a ragged run,
  // core/model/sequence_counts.h; empty: by seq). Read-only on the weights:
  // several threads may run one Forward at once, each with its own cache.
  // Runs on `compute`'s pool; progress (blocks done) goes to its current range.
  Matrix run(const Compute &compute, std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t seq,
             KvCache *cache = nullptr, bool last_only = false, std::span<const std::int64_t> counts = {}) const;

 private:
  ModelSpec spec_;
  GlobalWeights globals_;
  std::vector<BlockWeights> blocks_;
};

}  // namespace gptq::model
