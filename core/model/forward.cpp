#include "core/model/forward.h"

#include <algorithm>
#include <string>

#include "core/base/error.h"
#include "core/model/context_length.h"
#include "core/model/cpu_ops.h"
#include "core/model/sequence_counts.h"

namespace gptq::model {

Matrix embed(const Compute &compute, const ModelSpec &spec, const GlobalWeights &g,
             std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t seq,
             std::span<const std::int64_t> past) {
  if (batch <= 0 || seq <= 0 || static_cast<std::int64_t>(ids.size()) != batch * seq)
    fail(Status::InvalidArgument, "embed: " + std::to_string(ids.size()) + " ids for batch " +
                                      std::to_string(batch) + " x seq " + std::to_string(seq));
  const std::int64_t width = spec.word_embed_proj_dim;
  Matrix x(batch * seq, width);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::int32_t id = ids[i];
    if (id < 0 || id >= spec.vocab_size)
      fail(Status::InvalidArgument, "token id " + std::to_string(id) + " at index " + std::to_string(i) +
                                        " is outside the vocabulary [0, " + std::to_string(spec.vocab_size) + ")");
    std::copy_n(g.embed_tokens.begin() + id * width, width, x.row(static_cast<std::int64_t>(i)));
  }
  if (!past.empty() && static_cast<std::int64_t>(past.size()) != batch)
    fail(Status::InvalidArgument, "embed: " + std::to_string(past.size()) + " sequence lengths for batch " +
                                      std::to_string(batch));
  auto past_of = [&](std::int64_t b) { return past.empty() ? 0 : past[static_cast<std::size_t>(b)]; };
  for (std::int64_t b = 0; b < batch; ++b) require_within_context(spec, past_of(b) + seq, b, batch);
  if (!g.project_in.weight.empty()) x = linear(compute, x, g.project_in, "project_in");
  if (spec.positions == PositionKind::Learned) {
    const std::int64_t hidden = spec.hidden_size;
    for (std::int64_t r = 0; r < x.rows; ++r) {
      const float *pos = g.embed_positions.data() + (past_of(r / seq) + r % seq + spec.position_offset) * hidden;
      float *row = x.row(r);
      for (std::int64_t c = 0; c < hidden; ++c) row[c] += pos[c];
    }
  }
  return x;
}

Matrix logits(const Compute &compute, const ModelSpec &spec, const GlobalWeights &g, const Matrix &hidden) {
  Matrix h = hidden;
  if (!g.final_norm.weight.empty()) norm_rows(compute, spec, h, g.final_norm, h);
  if (!g.project_out.weight.empty()) h = linear(compute, h, g.project_out, "project_out");
  if (!g.lm_head.weight.empty()) return linear(compute, h, g.lm_head, "lm_head");
  return linear(compute, h, g.embed_tokens.data(), spec.vocab_size, spec.word_embed_proj_dim, nullptr,
                "lm_head (tied to embed_tokens)");
}

Forward::Forward(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint)
    : spec_(spec), globals_(load_global_weights(spec, checkpoint)) {
  parse_activation(spec.activation);  // refuse an unknown one now, not mid-run
  blocks_.reserve(static_cast<std::size_t>(spec.num_layers));
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer)
    blocks_.push_back(load_block_weights(spec, checkpoint, layer));
}

KvCache Forward::make_cache(std::int64_t batch, std::int64_t capacity) const {
  return KvCache(spec_.num_layers, batch, spec_.num_kv_heads * spec_.head_dim, capacity);
}

Matrix Forward::run(const Compute &compute, std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t seq,
                    KvCache *cache, bool last_only, std::span<const std::int64_t> counts) const {
  const std::vector<std::int64_t> grow = sequence_counts(counts, batch, seq);
  std::vector<std::int64_t> past;
  if (cache) {
    if (cache->batch() != batch)
      fail(Status::InvalidArgument, "forward run: the KV cache holds " + std::to_string(cache->batch()) +
                                        " sequences, the run has " + std::to_string(batch));
    const std::span<const std::int64_t> lengths = cache->lengths(0);
    past.assign(lengths.begin(), lengths.end());
    // Checked before any layer runs, so a refused run leaves the cache as it was.
    for (std::int64_t b = 0; b < batch; ++b)
      if (past[static_cast<std::size_t>(b)] + seq > cache->capacity())
        fail(Status::InvalidArgument, "forward run: the KV cache holds " + std::to_string(cache->capacity()) +
                                          " positions; sequence " + std::to_string(b) + "'s " +
                                          std::to_string(past[static_cast<std::size_t>(b)]) + " + " +
                                          std::to_string(seq) + " do not fit");
  }
  Matrix hidden = embed(compute, spec_, globals_, ids, batch, seq, past);
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    block_forward(compute, spec_, blocks_[i], hidden, batch, seq, {}, cache, grow);
    compute.progress(static_cast<double>(i + 1) / static_cast<double>(blocks_.size() + 1));
  }
  if (!last_only) return logits(compute, spec_, globals_, hidden);
  Matrix last(batch, hidden.cols);
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t valid = std::max<std::int64_t>(grow[static_cast<std::size_t>(b)], 1);
    std::copy_n(hidden.row(b * seq + valid - 1), hidden.cols, last.row(b));
  }
  return logits(compute, spec_, globals_, last);
}

}  // namespace gptq::model
