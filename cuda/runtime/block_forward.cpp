#include "cuda/runtime/block_forward.h"

#include <algorithm>
#include <string>

#include "cuda/runtime/attention.h"
#include "cuda/plugin_error.h"

namespace gptq::cuda {
namespace {

void require(bool ok, const std::string &what) {
  if (!ok) throw InvalidArgument(what);
}

}  // namespace

void carve_block(Carver &carve, RunBuffers &r, const gptq_plugin_model_spec &s, std::int64_t rows,
                 std::int64_t wide) {
  const std::int64_t qw = s.num_heads * s.head_dim, kvw = s.num_kv_heads * s.head_dim;
  carve.add(&r.x, rows * wide);
  carve.add(&r.q, rows * qw);
  carve.add(&r.k, rows * kvw);
  carve.add(&r.v, rows * kvw);
  carve.add(&r.attn, rows * qw);
  carve.add(&r.y, rows * wide);
  carve.add(&r.gate, rows * s.intermediate_size);
  carve.add(&r.up, rows * s.intermediate_size);
  AttentionArgs shape;  // every layer's attention has this shape (past: its bound, when captured)
  shape.batch = r.batch;
  shape.seq = r.seq;
  shape.past = r.past;
  shape.heads = s.num_heads;
  shape.kv_heads = s.num_kv_heads;
  shape.head_dim = s.head_dim;
  shape.window = s.sliding_window;
  carve.add(&r.attn_workspace, static_cast<std::int64_t>(attention_workspace_bytes(shape)));
}

void run_block(const gptq_plugin_model_spec &s, NormKind norm_kind, ActKind act, const BlockNorms &norms,
               const LinearFor &linear, const FusedFor &fused, std::int64_t layer, RunBuffers &r,
               const LinearCall &call, const BlockSeams &seams) {
  if (!s.norm_before && (seams.input_normed || seams.next_weight))
    throw InvalidArgument("run_block: a post-norm block has no norm to share with its neighbours");
  const cudaStream_t st = call.stream;
  const std::int64_t rows = r.rows, hidden = s.hidden_size;
  const std::int64_t n_hidden = rows * hidden, qw = s.num_heads * s.head_dim;
  const DeviceLinear *qkv = fused ? fused(GPTQ_PLUGIN_ROLE_Q) : nullptr;
  const DeviceLinear *gate_up = fused && s.gated_mlp ? fused(GPTQ_PLUGIN_ROLE_GATE) : nullptr;
  auto attention = [&](const __half *x) {
    if (qkv) {
      qkv->forward_parts(x, LinearParts{3, {r.q, r.k, r.v}}, rows, call);
    } else {
      linear(GPTQ_PLUGIN_ROLE_Q, x, hidden).forward(x, r.q, rows, call);
      linear(GPTQ_PLUGIN_ROLE_K, x, hidden).forward(x, r.k, rows, call);
      linear(GPTQ_PLUGIN_ROLE_V, x, hidden).forward(x, r.v, rows, call);
    }
    __half *kc = r.k_cache + layer * r.layer_elements, *vc = r.v_cache + layer * r.layer_elements;
    AttentionArgs a;
    a.q = r.q;
    a.k_cache = kc;
    a.v_cache = vc;
    a.out = r.attn;
    a.batch = r.batch;
    a.seq = r.seq;
    a.past = r.past;
    a.past_at = r.past_at;
    a.capacity = r.capacity;
    a.heads = s.num_heads;
    a.kv_heads = s.num_kv_heads;
    a.head_dim = s.head_dim;
    a.window = s.sliding_window;
    a.workspace = r.attn_workspace;
    if (attention_takes_new_rows(a)) {  // it rotates and stores the new rows itself
      a.new_k = r.k;
      a.new_v = r.v;
      a.inv_freq = r.inv_freq;
    } else {
      rope_and_store_kv(r.q, r.k, r.v, r.inv_freq, r.batch, r.seq, r.past_at, s.num_heads, s.num_kv_heads, s.head_dim,
                        kc, vc, r.capacity, st);
    }
    causal_attention(a, st);
    linear(GPTQ_PLUGIN_ROLE_O, r.attn, qw).forward(r.attn, r.y, rows, call);
  };
  auto mlp = [&](const __half *x) {
    const std::int64_t n = rows * s.intermediate_size;
    if (gate_up) {
      gate_up->forward_parts(x, LinearParts{2, {r.gate, r.up}}, rows, call);
      activate(act, r.gate, r.up, n, st);
    } else if (s.gated_mlp) {
      linear(GPTQ_PLUGIN_ROLE_GATE, x, hidden).forward(x, r.gate, rows, call);
      linear(GPTQ_PLUGIN_ROLE_UP, x, hidden).forward(x, r.up, rows, call);
      activate(act, r.gate, r.up, n, st);
    } else {
      linear(GPTQ_PLUGIN_ROLE_UP, x, hidden).forward(x, r.gate, rows, call);
      activate(act, r.gate, nullptr, n, st);
    }
    linear(GPTQ_PLUGIN_ROLE_DOWN, r.gate, s.intermediate_size).forward(r.gate, r.y, rows, call);
  };
  const double eps = s.norm_eps;
  if (s.norm_before) {
    // Each residual add is done by the kernel of the norm after it.
    if (!seams.input_normed) norm_rows(norm_kind, r.hidden, norms.attn_weight, norms.attn_bias, eps, rows, hidden, r.x, st);
    attention(r.x);
    add_residual_norm(norm_kind, r.hidden, r.y, norms.mlp_weight, norms.mlp_bias, eps, rows, hidden, r.x, st);
    mlp(r.x);
    if (seams.next_weight)
      add_residual_norm(norm_kind, r.hidden, r.y, seams.next_weight, seams.next_bias, eps, rows, hidden, r.x, st);
    else
      add_residual(r.hidden, r.y, n_hidden, st);
  } else {
    to_half(r.hidden, n_hidden, r.x, st);
    attention(r.x);
    add_residual(r.hidden, r.y, n_hidden, st);
    norm_rows(norm_kind, r.hidden, norms.attn_weight, norms.attn_bias, eps, rows, hidden, r.hidden, st);
    to_half(r.hidden, n_hidden, r.x, st);
    mlp(r.x);
    add_residual(r.hidden, r.y, n_hidden, st);
    norm_rows(norm_kind, r.hidden, norms.mlp_weight, norms.mlp_bias, eps, rows, hidden, r.hidden, st);
  }
}

void check_model_spec(const gptq_plugin_model_spec &s) {
  require(s.size == sizeof(gptq_plugin_model_spec), "model spec of another size (built from another libgptq)");
  const std::string where = std::string(s.model_type ? s.model_type : "model") + " spec: ";
  require(s.hidden_size > 0 && s.num_layers > 0 && s.num_heads > 0 && s.num_kv_heads > 0 && s.head_dim > 0 &&
              s.intermediate_size > 0 && s.vocab_size > 0 && s.embed_width > 0 && s.max_positions > 0,
          where + "every size must be positive");
  require(s.num_heads % s.num_kv_heads == 0, where + std::to_string(s.num_heads) + " heads do not group over " +
                                                 std::to_string(s.num_kv_heads) + " KV heads");
  require(s.head_dim % 2 == 0 && s.head_dim <= kMaxHeadDim,
          where + "head_dim " + std::to_string(s.head_dim) + " must be even and at most " +
              std::to_string(kMaxHeadDim));
  require(s.norm == GPTQ_PLUGIN_NORM_RMS || s.norm == GPTQ_PLUGIN_NORM_LAYER, where + "unknown norm kind");
  require(s.positions == GPTQ_PLUGIN_POSITIONS_ROPE || s.positions == GPTQ_PLUGIN_POSITIONS_LEARNED,
          where + "unknown position kind");
  require(s.activation >= GPTQ_PLUGIN_ACT_SILU && s.activation <= GPTQ_PLUGIN_ACT_GELU_TANH,
          where + "unknown activation");
}

const char *role_name(std::int32_t role) {
  switch (role) {
    case GPTQ_PLUGIN_ROLE_ATTN_NORM: return "attention norm";
    case GPTQ_PLUGIN_ROLE_MLP_NORM: return "MLP norm";
    case GPTQ_PLUGIN_ROLE_Q: return "q projection";
    case GPTQ_PLUGIN_ROLE_K: return "k projection";
    case GPTQ_PLUGIN_ROLE_V: return "v projection";
    case GPTQ_PLUGIN_ROLE_O: return "o projection";
    case GPTQ_PLUGIN_ROLE_GATE: return "MLP gate";
    case GPTQ_PLUGIN_ROLE_UP: return "MLP up";
    case GPTQ_PLUGIN_ROLE_DOWN: return "MLP down";
    case GPTQ_PLUGIN_ROLE_EMBED_TOKENS: return "token embeddings";
    case GPTQ_PLUGIN_ROLE_EMBED_POSITIONS: return "position embeddings";
    case GPTQ_PLUGIN_ROLE_FINAL_NORM: return "final norm";
    case GPTQ_PLUGIN_ROLE_LM_HEAD: return "lm_head";
    case GPTQ_PLUGIN_ROLE_PROJECT_IN: return "project_in";
    case GPTQ_PLUGIN_ROLE_PROJECT_OUT: return "project_out";
    default: return nullptr;
  }
}

std::pair<std::int64_t, std::int64_t> role_shape(const gptq_plugin_model_spec &s, std::int32_t role) {
  const std::int64_t qw = s.num_heads * s.head_dim, kvw = s.num_kv_heads * s.head_dim;
  switch (role) {
    case GPTQ_PLUGIN_ROLE_ATTN_NORM:
    case GPTQ_PLUGIN_ROLE_MLP_NORM: return {1, s.hidden_size};
    case GPTQ_PLUGIN_ROLE_Q: return {qw, s.hidden_size};
    case GPTQ_PLUGIN_ROLE_K:
    case GPTQ_PLUGIN_ROLE_V: return {kvw, s.hidden_size};
    case GPTQ_PLUGIN_ROLE_O: return {s.hidden_size, qw};
    case GPTQ_PLUGIN_ROLE_GATE:
    case GPTQ_PLUGIN_ROLE_UP: return {s.intermediate_size, s.hidden_size};
    case GPTQ_PLUGIN_ROLE_DOWN: return {s.hidden_size, s.intermediate_size};
    case GPTQ_PLUGIN_ROLE_EMBED_TOKENS:
    case GPTQ_PLUGIN_ROLE_LM_HEAD: return {s.vocab_size, s.embed_width};
    case GPTQ_PLUGIN_ROLE_EMBED_POSITIONS: return {s.max_positions + s.position_offset, s.hidden_size};
    case GPTQ_PLUGIN_ROLE_FINAL_NORM: return {1, s.hidden_size};
    case GPTQ_PLUGIN_ROLE_PROJECT_IN: return {s.hidden_size, s.embed_width};
    case GPTQ_PLUGIN_ROLE_PROJECT_OUT: return {s.embed_width, s.hidden_size};
    default: throw InvalidArgument("unknown tensor role " + std::to_string(role));
  }
}

}  // namespace gptq::cuda
