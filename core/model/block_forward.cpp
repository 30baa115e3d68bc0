#include "core/model/block_forward.h"

#include <optional>
#include <string>
#include <vector>

#include "core/cpu/row_chunks.h"
#include "core/base/error.h"
#include "core/model/attention.h"
#include "core/model/cpu_ops.h"
#include "core/model/rope.h"
#include "core/model/sequence_counts.h"

namespace gptq::model {
namespace {

// Each step below returns nothing once the observer has stopped the run
// (ObserverReply::kStop): the steps after it are not computed.
std::optional<Matrix> apply_linear(const Compute &compute, const BlockWeights &w, std::string_view name,
                                   const Matrix &x, const LinearInputObserver &observe) {
  if (observe && observe(name, x) == ObserverReply::kStop) return std::nullopt;
  return linear(compute, x, w.linear(name), name);
}

void check_shapes(const ModelSpec &spec, const BlockWeights &w, const Matrix &hidden, std::int64_t batch,
                  std::int64_t seq, const KvCache *cache) {
  const std::string where = "block_forward(layer " + std::to_string(w.layer) + ")";
  if (batch <= 0 || seq <= 0 || hidden.rows != batch * seq || hidden.cols != spec.hidden_size)
    fail(Status::InvalidArgument, where + ": hidden is " + std::to_string(hidden.rows) + "x" +
                                      std::to_string(hidden.cols) + ", expected (batch " + std::to_string(batch) +
                                      " x seq " + std::to_string(seq) + ") x " + std::to_string(spec.hidden_size));
  if (cache && (cache->batch() != batch || cache->kv_width() != spec.num_kv_heads * spec.head_dim))
    fail(Status::InvalidArgument, where + ": the KV cache was made for batch " + std::to_string(cache->batch()) +
                                      " and width " + std::to_string(cache->kv_width()));
  if (spec.num_kv_heads <= 0 || spec.num_heads % spec.num_kv_heads != 0)
    fail(Status::InvalidArgument, where + ": " + std::to_string(spec.num_heads) + " heads do not group over " +
                                      std::to_string(spec.num_kv_heads) + " KV heads");
}

// Self-attention on the (normed) input x; returns the o_proj output.
std::optional<Matrix> self_attention(const Compute &compute, const ModelSpec &spec, const BlockWeights &w,
                                     const Matrix &x, std::int64_t batch, std::int64_t seq,
                                     const LinearInputObserver &observe, KvCache *cache,
                                     std::span<const std::int64_t> counts) {
  const BlockLayout &l = spec.arch->block_layout;
  std::optional<Matrix> q_run = apply_linear(compute, w, l.q, x, observe);
  if (!q_run) return std::nullopt;
  std::optional<Matrix> k_run = apply_linear(compute, w, l.k, x, observe);
  if (!k_run) return std::nullopt;
  std::optional<Matrix> v_run = apply_linear(compute, w, l.v, x, observe);
  if (!v_run) return std::nullopt;
  Matrix &q = *q_run, &k = *k_run, &v = *v_run;
  // Each sequence continues at its own length (0 without a cache).
  std::vector<std::int64_t> past(static_cast<std::size_t>(batch), 0);
  if (cache) {
    const std::span<const std::int64_t> lengths = cache->lengths(w.layer);
    past.assign(lengths.begin(), lengths.end());
  }
  if (spec.positions == PositionKind::Rope) {
    std::vector<std::int64_t> positions(static_cast<std::size_t>(batch * seq));
    for (std::int64_t r = 0; r < batch * seq; ++r)
      positions[static_cast<std::size_t>(r)] = past[static_cast<std::size_t>(r / seq)] + r % seq;
    const std::vector<float> inv_freq = rope_inv_freq(spec.rope, spec.head_dim, spec.max_position_embeddings,
                                                      positions_covered(past, sequence_counts(counts, batch, seq)));
    apply_rope(compute, q.data.data(), q.rows, spec.num_heads, spec.head_dim, positions, inv_freq);
    apply_rope(compute, k.data.data(), k.rows, spec.num_kv_heads, spec.head_dim, positions, inv_freq);
  }
  const AttentionShape shape{spec.num_heads, spec.num_kv_heads, spec.head_dim, spec.sliding_window};
  Matrix attn(batch * seq, spec.num_heads * spec.head_dim);
  if (cache) cache->append(w.layer, k.data.data(), v.data.data(), seq, counts);
  // A sequence's keys are its past and all seq rows of this run: a padding
  // row's key sits after every valid row, so the causal mask hides it from them.
  std::vector<AttentionSequence> sequences(static_cast<std::size_t>(batch));
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t r = b * seq;
    const std::int64_t kv_len = past[static_cast<std::size_t>(b)] + seq;
    sequences[static_cast<std::size_t>(b)] =
        cache ? AttentionSequence{q.row(r), cache->keys(w.layer, b), cache->values(w.layer, b), kv_len, attn.row(r)}
              : AttentionSequence{q.row(r), k.row(r), v.row(r), seq, attn.row(r)};
  }
  causal_attention(compute, shape, sequences, seq);
  return apply_linear(compute, w, l.o, attn, observe);
}

std::optional<Matrix> mlp(const Compute &compute, const ModelSpec &spec, const BlockWeights &w, const Matrix &x,
                          const LinearInputObserver &observe) {
  const BlockLayout &l = spec.arch->block_layout;
  const Activation act = parse_activation(spec.activation);
  std::optional<Matrix> gate_run = apply_linear(compute, w, l.gate.empty() ? l.up : l.gate, x, observe);
  if (!gate_run) return std::nullopt;
  Matrix &m = *gate_run;  // the up projection's output when there is no gate
  if (!l.gate.empty()) {
    const std::optional<Matrix> up_run = apply_linear(compute, w, l.up, x, observe);
    if (!up_run) return std::nullopt;
    const Matrix &up = *up_run;
    activate(compute, act, m.data.data(), static_cast<std::int64_t>(m.data.size()));
    parallel_rows(compute, static_cast<std::int64_t>(m.data.size()), 1, [&](std::int64_t begin, std::int64_t end) {
      for (auto i = static_cast<std::size_t>(begin); i < static_cast<std::size_t>(end); ++i) m.data[i] *= up.data[i];
    });
  } else {
    activate(compute, act, m.data.data(), static_cast<std::int64_t>(m.data.size()));
  }
  return apply_linear(compute, w, l.down, m, observe);
}

}  // namespace

void block_forward(const Compute &compute, const ModelSpec &spec, const BlockWeights &w, Matrix &hidden,
                   std::int64_t batch, std::int64_t seq, const LinearInputObserver &observe, KvCache *cache,
                   std::span<const std::int64_t> counts) {
  check_shapes(spec, w, hidden, batch, seq, cache);
  const BlockLayout &l = spec.arch->block_layout;
  const NormWeights &attn_norm = w.norm(l.attn_norm);
  const NormWeights &mlp_norm = w.norm(l.mlp_norm);
  // Pre-norm (all but post-norm OPTs): x + f(norm(x)). Post-norm: norm(x + f(x)).
  if (spec.norm_before) {
    Matrix normed;
    norm_rows(compute, spec, hidden, attn_norm, normed);
    const std::optional<Matrix> attn = self_attention(compute, spec, w, normed, batch, seq, observe, cache, counts);
    if (!attn) return;
    add_in_place(compute, hidden, *attn);
    norm_rows(compute, spec, hidden, mlp_norm, normed);
    const std::optional<Matrix> out = mlp(compute, spec, w, normed, observe);
    if (!out) return;
    add_in_place(compute, hidden, *out);
  } else {
    const std::optional<Matrix> attn = self_attention(compute, spec, w, hidden, batch, seq, observe, cache, counts);
    if (!attn) return;
    add_in_place(compute, hidden, *attn);
    norm_rows(compute, spec, hidden, attn_norm, hidden);
    const std::optional<Matrix> out = mlp(compute, spec, w, hidden, observe);
    if (!out) return;
    add_in_place(compute, hidden, *out);
    norm_rows(compute, spec, hidden, mlp_norm, hidden);
  }
}

}  // namespace gptq::model
