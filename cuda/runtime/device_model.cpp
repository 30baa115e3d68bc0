#include "cuda/runtime/device_model.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "cuda/cuda_check.h"
#include "cuda/runtime/attention.h"
#include "cuda/runtime/make_linear.h"
#include "cuda/runtime/runtime_errors.h"

namespace gptq::cuda {

// One run's activations and inputs, carved from one allocation.
struct RunBuffers {
  std::int64_t batch = 0, seq = 0, rows = 0;
  std::int64_t past = 0;             // the first row's position, or (a captured step) its largest value
  bool last_only = false;
  std::int64_t out_rows = 0;         // rows of logits: batch with last_only, else rows
  std::int64_t *past_at = nullptr;   // the first row's position, on the device
  std::int32_t *ids = nullptr;
  float *inv_freq = nullptr;         // null for learned positions
  __half *k_cache = nullptr, *v_cache = nullptr;  // layer 0's; a layer is layer_elements further
  __half *scratch_k = nullptr, *scratch_v = nullptr;  // one layer's keys and values without a cache
  std::int64_t capacity = 0, layer_elements = 0;
  float *hidden = nullptr;
  __half *x = nullptr, *q = nullptr, *k = nullptr, *v = nullptr, *attn = nullptr, *y = nullptr;
  __half *gate = nullptr, *up = nullptr;
  float *final_rows = nullptr, *logits = nullptr;
  __half *final_x = nullptr, *final_p = nullptr;
  char *workspace = nullptr;
  std::size_t workspace_bytes = 0;
  char *attn_workspace = nullptr;  // attention_workspace_bytes of this run's shape
};

// Bump allocation of 256-byte aligned slices of one buffer.
class Carver {
 public:
  template <class T>
  void add(T **slot, std::int64_t count) {
    slots_.push_back({reinterpret_cast<void **>(slot), offset_});
    offset_ += (static_cast<std::size_t>(count) * sizeof(T) + 255) / 256 * 256;
  }
  std::size_t bytes() const { return offset_; }
  void assign(void *base) {
    for (auto &s : slots_) *s.first = static_cast<char *>(base) + s.second;
  }

 private:
  std::vector<std::pair<void **, std::size_t>> slots_;
  std::size_t offset_ = 0;
};

// A decode step of one cache, captured: its arena (inputs, activations,
// logits) at fixed addresses, and the executable graph.
struct DecodeGraph {
  DecodeGraph() = default;
  DecodeGraph(const DecodeGraph &) = delete;
  DecodeGraph &operator=(const DecodeGraph &) = delete;
  ~DecodeGraph() {
    if (exec) cudaGraphExecDestroy(exec);
  }
  const void *model = nullptr;  // the DeviceModel captured
  RunBuffers r;
  DeviceBuffer arena;
  cudaGraphExec_t exec = nullptr;
};

DeviceCache::DeviceCache() = default;
DeviceCache::~DeviceCache() = default;

namespace {

bool is_block_role(std::int32_t role) { return role >= GPTQ_PLUGIN_ROLE_ATTN_NORM && role <= GPTQ_PLUGIN_ROLE_DOWN; }

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

void require(bool ok, const std::string &what) {
  if (!ok) throw InvalidArgument(what);
}

}  // namespace

DeviceModel::DeviceModel(const gptq_plugin_model_spec &s) : spec_(s) {
  require(s.size == sizeof(gptq_plugin_model_spec), "model spec of another size (built from another libgptq)");
  model_type_ = s.model_type ? s.model_type : "model";
  spec_.model_type = model_type_.c_str();
  const std::string where = model_type_ + " spec: ";
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
  norm_kind_ = s.norm == GPTQ_PLUGIN_NORM_RMS ? NormKind::Rms : NormKind::Layer;
  act_ = static_cast<ActKind>(s.activation);
  blocks_.resize(static_cast<std::size_t>(s.num_layers));
}

std::string DeviceModel::tensor_name(std::int32_t layer, std::int32_t role) const {
  const char *name = role_name(role);
  const std::string r = name ? name : "role " + std::to_string(role);
  return layer < 0 ? r : "layer " + std::to_string(layer) + " " + r;
}

std::unique_ptr<DeviceLinear> *DeviceModel::linear_slot(std::int32_t layer, std::int32_t role) {
  if (layer < 0) {
    if (role == GPTQ_PLUGIN_ROLE_PROJECT_IN) return &project_in_;
    if (role == GPTQ_PLUGIN_ROLE_PROJECT_OUT) return &project_out_;
    return nullptr;
  }
  Block &b = blocks_[static_cast<std::size_t>(layer)];
  switch (role) {
    case GPTQ_PLUGIN_ROLE_Q: return &b.q;
    case GPTQ_PLUGIN_ROLE_K: return &b.k;
    case GPTQ_PLUGIN_ROLE_V: return &b.v;
    case GPTQ_PLUGIN_ROLE_O: return &b.o;
    case GPTQ_PLUGIN_ROLE_GATE: return &b.gate;
    case GPTQ_PLUGIN_ROLE_UP: return &b.up;
    case GPTQ_PLUGIN_ROLE_DOWN: return &b.down;
    default: return nullptr;
  }
}

// The shape the spec gives each role ([rows][cols]; a norm's width in cols).
void DeviceModel::check_shape(std::int32_t layer, std::int32_t role, std::int64_t rows, std::int64_t cols) const {
  const gptq_plugin_model_spec &s = spec_;
  const std::int64_t qw = s.num_heads * s.head_dim, kvw = s.num_kv_heads * s.head_dim;
  std::int64_t er = 0, ec = 0;
  switch (role) {
    case GPTQ_PLUGIN_ROLE_ATTN_NORM:
    case GPTQ_PLUGIN_ROLE_MLP_NORM: er = 1, ec = s.hidden_size; break;
    case GPTQ_PLUGIN_ROLE_Q: er = qw, ec = s.hidden_size; break;
    case GPTQ_PLUGIN_ROLE_K:
    case GPTQ_PLUGIN_ROLE_V: er = kvw, ec = s.hidden_size; break;
    case GPTQ_PLUGIN_ROLE_O: er = s.hidden_size, ec = qw; break;
    case GPTQ_PLUGIN_ROLE_GATE:
    case GPTQ_PLUGIN_ROLE_UP: er = s.intermediate_size, ec = s.hidden_size; break;
    case GPTQ_PLUGIN_ROLE_DOWN: er = s.hidden_size, ec = s.intermediate_size; break;
    case GPTQ_PLUGIN_ROLE_EMBED_TOKENS:
    case GPTQ_PLUGIN_ROLE_LM_HEAD: er = s.vocab_size, ec = s.embed_width; break;
    case GPTQ_PLUGIN_ROLE_EMBED_POSITIONS: er = s.max_positions + s.position_offset, ec = s.hidden_size; break;
    case GPTQ_PLUGIN_ROLE_FINAL_NORM: er = 1, ec = s.hidden_size; break;
    case GPTQ_PLUGIN_ROLE_PROJECT_IN: er = s.hidden_size, ec = s.embed_width; break;
    case GPTQ_PLUGIN_ROLE_PROJECT_OUT: er = s.embed_width, ec = s.hidden_size; break;
    default: throw InvalidArgument("unknown tensor role " + std::to_string(role));
  }
  require(is_block_role(role) == (layer >= 0) && layer < s.num_layers,
          tensor_name(layer, role) + ": no such tensor in a " + model_type_ + " of " + std::to_string(s.num_layers) +
              " layers");
  // Learned positions: the table may hold more rows than the context uses.
  const bool rows_ok = role == GPTQ_PLUGIN_ROLE_EMBED_POSITIONS ? rows >= er : rows == er;
  require(rows_ok && cols == ec, tensor_name(layer, role) + " is " + std::to_string(rows) + "x" +
                                     std::to_string(cols) + ", the spec says " + std::to_string(er) + "x" +
                                     std::to_string(ec));
}

void DeviceModel::set_dense(std::int32_t layer, std::int32_t role, const gptq_plugin_dense &t) {
  require(!finished_, "the model is finished; no tensor can be set");
  require(t.weight != nullptr, tensor_name(layer, role) + ": no weight");
  check_shape(layer, role, t.rows, t.cols);
  const std::string what = model_type_ + " " + tensor_name(layer, role);
  const auto count = static_cast<std::size_t>(t.rows * t.cols);
  auto norm = [&](Norm &n) {
    n.weight = upload(t.weight, count, what);
    n.bias = t.bias ? upload(t.bias, count, what + " bias") : DeviceBuffer();
  };
  switch (role) {
    case GPTQ_PLUGIN_ROLE_ATTN_NORM: norm(blocks_[static_cast<std::size_t>(layer)].attn_norm); return;
    case GPTQ_PLUGIN_ROLE_MLP_NORM: norm(blocks_[static_cast<std::size_t>(layer)].mlp_norm); return;
    case GPTQ_PLUGIN_ROLE_FINAL_NORM: norm(final_norm_); return;
    case GPTQ_PLUGIN_ROLE_EMBED_TOKENS:
      embed_tokens_ = std::make_shared<const DeviceBuffer>(upload_half(t.weight, count, what));
      return;
    case GPTQ_PLUGIN_ROLE_EMBED_POSITIONS: embed_positions_ = upload_half(t.weight, count, what); return;
    case GPTQ_PLUGIN_ROLE_LM_HEAD:
      require(!spec_.tie_word_embeddings, "lm_head set on a model whose embeddings are tied");
      lm_head_ = make_dense_linear(t.weight, t.bias, t.rows, t.cols, what);
      return;
    default: break;
  }
  std::unique_ptr<DeviceLinear> *slot = linear_slot(layer, role);
  require(slot != nullptr, tensor_name(layer, role) + " is not a dense tensor");
  *slot = make_dense_linear(t.weight, t.bias, t.rows, t.cols, what);
}

void DeviceModel::set_gptq(std::int32_t layer, std::int32_t role, const gptq_plugin_gptq_linear &l,
                           cudaStream_t stream) {
  require(!finished_, "the model is finished; no tensor can be set");
  check_shape(layer, role, l.out_features, l.in_features);
  std::unique_ptr<DeviceLinear> *slot = linear_slot(layer, role);
  require(slot != nullptr && layer >= 0, tensor_name(layer, role) + " cannot be a GPTQ linear here");
  const HostGptqLinear h{l.bits, l.out_features, l.in_features, l.groups, l.codes, l.zeros, l.scales, l.g_idx,
                         l.bias};
  *slot = make_linear(h, stream, model_type_ + " " + tensor_name(layer, role));
}

void DeviceModel::finish() {
  const gptq_plugin_model_spec &s = spec_;
  auto need = [&](bool present, std::int32_t layer, std::int32_t role) {
    require(present, model_type_ + ": " + tensor_name(layer, role) + " was not set");
  };
  need(embed_tokens_ != nullptr, -1, GPTQ_PLUGIN_ROLE_EMBED_TOKENS);
  if (s.positions == GPTQ_PLUGIN_POSITIONS_LEARNED)
    need(embed_positions_.get() != nullptr, -1, GPTQ_PLUGIN_ROLE_EMBED_POSITIONS);
  if (s.final_norm) need(final_norm_.weight.get() != nullptr, -1, GPTQ_PLUGIN_ROLE_FINAL_NORM);
  if (!s.tie_word_embeddings) need(lm_head_ != nullptr, -1, GPTQ_PLUGIN_ROLE_LM_HEAD);
  if (s.project_embeddings) {
    need(project_in_ != nullptr, -1, GPTQ_PLUGIN_ROLE_PROJECT_IN);
    need(project_out_ != nullptr, -1, GPTQ_PLUGIN_ROLE_PROJECT_OUT);
  }
  for (std::int32_t i = 0; i < static_cast<std::int32_t>(blocks_.size()); ++i) {
    const Block &b = blocks_[static_cast<std::size_t>(i)];
    need(b.attn_norm.weight.get() != nullptr, i, GPTQ_PLUGIN_ROLE_ATTN_NORM);
    need(b.mlp_norm.weight.get() != nullptr, i, GPTQ_PLUGIN_ROLE_MLP_NORM);
    need(b.q != nullptr, i, GPTQ_PLUGIN_ROLE_Q);
    need(b.k != nullptr, i, GPTQ_PLUGIN_ROLE_K);
    need(b.v != nullptr, i, GPTQ_PLUGIN_ROLE_V);
    need(b.o != nullptr, i, GPTQ_PLUGIN_ROLE_O);
    if (s.gated_mlp) need(b.gate != nullptr, i, GPTQ_PLUGIN_ROLE_GATE);
    need(b.up != nullptr, i, GPTQ_PLUGIN_ROLE_UP);
    need(b.down != nullptr, i, GPTQ_PLUGIN_ROLE_DOWN);
  }
  if (s.tie_word_embeddings)
    lm_head_ = std::make_unique<DenseLinear>(embed_tokens_, DeviceBuffer(), s.vocab_size, s.embed_width);
  finished_ = true;
}

std::unique_ptr<DeviceCache> DeviceModel::make_cache(std::int64_t batch, std::int64_t capacity) const {
  require(finished_, "the model is not finished");
  require(batch > 0 && capacity > 0, "a KV cache needs batch and capacity > 0");
  const long double elements = static_cast<long double>(spec_.num_layers) * batch * spec_.num_kv_heads * capacity *
                               spec_.head_dim;
  const long double bytes = elements * 2 * sizeof(__half);
  auto cache = std::make_unique<DeviceCache>();
  cache->batch = batch;
  cache->capacity = capacity;
  cache->layer_elements = batch * spec_.num_kv_heads * capacity * spec_.head_dim;
  const std::string what = "the KV cache (" + std::to_string(spec_.num_layers) + " layers x batch " +
                           std::to_string(batch) + " x " + std::to_string(capacity) + " positions x " +
                           std::to_string(spec_.num_kv_heads * spec_.head_dim) + " fp16, keys and values)";
  if (bytes > static_cast<long double>(SIZE_MAX / 4))
    throw CudaError("out of device memory for " + what + ": " + std::to_string(static_cast<double>(bytes)) +
                        " bytes asked, more than any device has",
                    cudaErrorMemoryAllocation);
  const auto half_bytes = static_cast<std::size_t>(elements) * sizeof(__half);
  // Keys and values in one allocation, so the message names the whole cache.
  cache->memory = DeviceBuffer(2 * half_bytes, what);
  const char *graphs = std::getenv("GPTQ_CUDA_GRAPHS");
  cache->graphs = !(graphs && std::string(graphs) == "0");
  return cache;
}

void DeviceModel::run_block(const Block &b, std::int64_t layer, RunBuffers &r, const LinearCall &call) const {
  const gptq_plugin_model_spec &s = spec_;
  const cudaStream_t st = call.stream;
  const std::int64_t rows = r.rows, hidden = s.hidden_size;
  const std::int64_t n_hidden = rows * hidden;
  auto attention = [&](const __half *x) {
    b.q->forward(x, r.q, rows, call);
    b.k->forward(x, r.k, rows, call);
    b.v->forward(x, r.v, rows, call);
    __half *kc = r.k_cache + layer * r.layer_elements, *vc = r.v_cache + layer * r.layer_elements;
    rope_and_store_kv(r.q, r.k, r.v, r.inv_freq, r.batch, r.seq, r.past_at, s.num_heads, s.num_kv_heads, s.head_dim,
                      kc, vc, r.capacity, st);
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
    causal_attention(a, st);
    b.o->forward(r.attn, r.y, rows, call);
    add_residual(r.hidden, r.y, n_hidden, st);
  };
  auto mlp = [&](const __half *x) {
    const std::int64_t n = rows * s.intermediate_size;
    if (b.gate) {
      b.gate->forward(x, r.gate, rows, call);
      b.up->forward(x, r.up, rows, call);
      activate(act_, r.gate, r.up, n, st);
    } else {
      b.up->forward(x, r.gate, rows, call);
      activate(act_, r.gate, nullptr, n, st);
    }
    b.down->forward(r.gate, r.y, rows, call);
    add_residual(r.hidden, r.y, n_hidden, st);
  };
  const double eps = s.norm_eps;
  if (s.norm_before) {
    norm_rows(norm_kind_, r.hidden, b.attn_norm.weight.as<float>(), b.attn_norm.bias.as<float>(), eps, rows, hidden,
              r.x, st);
    attention(r.x);
    norm_rows(norm_kind_, r.hidden, b.mlp_norm.weight.as<float>(), b.mlp_norm.bias.as<float>(), eps, rows, hidden,
              r.x, st);
    mlp(r.x);
  } else {
    to_half(r.hidden, n_hidden, r.x, st);
    attention(r.x);
    norm_rows(norm_kind_, r.hidden, b.attn_norm.weight.as<float>(), b.attn_norm.bias.as<float>(), eps, rows, hidden,
              r.hidden, st);
    to_half(r.hidden, n_hidden, r.x, st);
    mlp(r.x);
    norm_rows(norm_kind_, r.hidden, b.mlp_norm.weight.as<float>(), b.mlp_norm.bias.as<float>(), eps, rows, hidden,
              r.hidden, st);
  }
}

void DeviceModel::lay_out(RunBuffers &r, Carver &carve) const {
  const gptq_plugin_model_spec &s = spec_;
  const std::int64_t rows = r.rows, hidden = s.hidden_size, wide = std::max(s.hidden_size, s.embed_width);
  const std::int64_t qw = s.num_heads * s.head_dim, kvw = s.num_kv_heads * s.head_dim;
  r.workspace_bytes = 0;
  for (const Block &b : blocks_)
    for (const auto *l : {&b.q, &b.k, &b.v, &b.o, &b.gate, &b.up, &b.down})
      if (*l) r.workspace_bytes = std::max(r.workspace_bytes, (*l)->workspace_bytes(rows));
  if (project_in_) r.workspace_bytes = std::max(r.workspace_bytes, project_in_->workspace_bytes(rows));
  if (project_out_) r.workspace_bytes = std::max(r.workspace_bytes, project_out_->workspace_bytes(r.out_rows));
  carve.add(&r.past_at, 1);
  carve.add(&r.ids, rows);
  if (s.positions == GPTQ_PLUGIN_POSITIONS_ROPE) carve.add(&r.inv_freq, s.head_dim / 2);
  carve.add(&r.hidden, rows * hidden);
  carve.add(&r.x, rows * wide);
  carve.add(&r.q, rows * qw);
  carve.add(&r.k, rows * kvw);
  carve.add(&r.v, rows * kvw);
  carve.add(&r.attn, rows * qw);
  carve.add(&r.y, rows * wide);
  carve.add(&r.gate, rows * s.intermediate_size);
  carve.add(&r.up, rows * s.intermediate_size);
  carve.add(&r.final_rows, r.out_rows * hidden);
  carve.add(&r.final_x, r.out_rows * wide);
  carve.add(&r.final_p, r.out_rows * wide);
  carve.add(&r.logits, r.out_rows * s.vocab_size);
  // Without a cache, each layer's keys and values live in one layer's worth
  // of scratch, reused by the next layer (bind_cache decides).
  carve.add(&r.scratch_k, rows * kvw);
  carve.add(&r.scratch_v, rows * kvw);
  carve.add(&r.workspace, static_cast<std::int64_t>(r.workspace_bytes));
  AttentionArgs attn_shape;  // every layer's attention has this shape (past: its bound, when captured)
  attn_shape.batch = r.batch;
  attn_shape.seq = r.seq;
  attn_shape.past = r.past;
  attn_shape.heads = s.num_heads;
  attn_shape.kv_heads = s.num_kv_heads;
  attn_shape.head_dim = s.head_dim;
  attn_shape.window = s.sliding_window;
  carve.add(&r.attn_workspace, static_cast<std::int64_t>(attention_workspace_bytes(attn_shape)));
}

void DeviceModel::bind_cache(RunBuffers &r, DeviceCache *cache) const {
  if (cache) {
    r.k_cache = cache->memory.as<__half>();
    r.v_cache = r.k_cache + spec_.num_layers * cache->layer_elements;
    r.capacity = cache->capacity;
    r.layer_elements = cache->layer_elements;
  } else {
    r.k_cache = r.scratch_k;
    r.v_cache = r.scratch_v;
    r.capacity = r.seq;
    r.layer_elements = 0;
  }
}

void DeviceModel::enqueue(RunBuffers &r, const LinearCall &call, const ForwardDevice *cancel) const {
  const gptq_plugin_model_spec &s = spec_;
  const cudaStream_t st = call.stream;
  const std::int64_t rows = r.rows, hidden = s.hidden_size;
  embed_rows(r.ids, embed_tokens_->as<const __half>(), rows, s.embed_width, r.x, st);
  const __half *embedded = r.x;
  if (project_in_) {
    project_in_->forward(r.x, r.y, rows, call);
    embedded = r.y;
  }
  to_hidden(embedded, embed_positions_.get() ? embed_positions_.as<const __half>() : nullptr, rows, hidden, r.seq,
            r.past_at, s.position_offset, r.hidden, st);

  for (std::size_t layer = 0; layer < blocks_.size(); ++layer) {
    run_block(blocks_[layer], static_cast<std::int64_t>(layer), r, call);
    if (cancel && cancel->cancelled()) {
      GPTQ_CUDA_CHECK(cudaStreamSynchronize(st));  // no work left queued
      throw Cancelled();
    }
  }

  const float *last = r.hidden;
  if (r.last_only) {
    last_rows(r.hidden, r.batch, r.seq, hidden, r.final_rows, st);
    last = r.final_rows;
  }
  if (s.final_norm)
    norm_rows(norm_kind_, last, final_norm_.weight.as<float>(), final_norm_.bias.as<float>(), s.norm_eps, r.out_rows,
              hidden, r.final_x, st);
  else
    to_half(last, r.out_rows * hidden, r.final_x, st);
  const __half *head_in = r.final_x;
  if (project_out_) {
    project_out_->forward(r.final_x, r.final_p, r.out_rows, call);
    head_in = r.final_p;
  }
  lm_head_->forward_f32(head_in, r.logits, r.out_rows, call);
}

DecodeGraph &DeviceModel::decode_graph(DeviceCache &cache, const ForwardDevice &device) const {
  if (cache.decode && cache.decode->model == this) return *cache.decode;
  cache.decode.reset();
  const cudaStream_t st = device.stream();
  auto g = std::make_unique<DecodeGraph>();
  RunBuffers &r = g->r;
  r.batch = cache.batch;
  r.seq = 1;
  r.rows = cache.batch;
  r.out_rows = cache.batch;  // one row per sequence: every row is a last row
  r.past = cache.capacity - 1;  // the launches' shape covers every position the cache can reach
  Carver carve;
  lay_out(r, carve);
  g->arena = DeviceBuffer(carve.bytes(), "the activations of a batch " + std::to_string(r.batch) + " decode step");
  carve.assign(g->arena.get());
  bind_cache(r, &cache);
  const LinearCall call{st, device.blas(), r.workspace, r.workspace_bytes};
  // Thread-local capture: other threads' CUDA calls go on as usual.
  GPTQ_CUDA_CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
  cudaGraph_t graph = nullptr;
  try {
    enqueue(r, call, nullptr);
  } catch (...) {
    if (cudaStreamEndCapture(st, &graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
    (void)cudaGetLastError();
    throw;
  }
  GPTQ_CUDA_CHECK(cudaStreamEndCapture(st, &graph));
  const cudaError_t made = cudaGraphInstantiate(&g->exec, graph, 0);
  cudaGraphDestroy(graph);
  GPTQ_CUDA_CHECK(made);
  g->model = this;
  cache.decode = std::move(g);
  return *cache.decode;
}

void DeviceModel::run(const ForwardDevice &device, const std::int32_t *ids, std::int64_t batch, std::int64_t seq,
                      DeviceCache *cache, bool last_only, const float *inv_freq, float *logits) const {
  const gptq_plugin_model_spec &s = spec_;
  require(finished_, "the model is not finished");
  require(batch > 0 && seq > 0, "a run needs batch and seq > 0");
  require(ids != nullptr && logits != nullptr, "a run needs ids and a logits array");
  require((inv_freq != nullptr) == (s.positions == GPTQ_PLUGIN_POSITIONS_ROPE),
          "RoPE frequencies must be given exactly for a RoPE model");
  const std::int64_t rows = batch * seq;
  for (std::int64_t i = 0; i < rows; ++i)
    require(ids[i] >= 0 && ids[i] < s.vocab_size, "token id " + std::to_string(ids[i]) + " at index " +
                                                      std::to_string(i) + " is outside the vocabulary");
  const std::int64_t past = cache ? cache->length : 0;
  require(past + seq <= s.max_positions, "positions up to " + std::to_string(past + seq) +
                                             " exceed the model's context of " + std::to_string(s.max_positions));
  if (cache)
    require(cache->batch == batch && past + seq <= cache->capacity,
            "the KV cache holds batch " + std::to_string(cache->batch) + " x " + std::to_string(cache->capacity) +
                " positions (" + std::to_string(past) + " used); this run needs batch " + std::to_string(batch) +
                " x " + std::to_string(past + seq));

  const std::lock_guard<std::mutex> lock(device.mutex());
  const cudaStream_t st = device.stream();
  // Inputs and logits go through the run's arena; pageable host sources
  // are staged before the copies return, so the host arrays may go then.
  auto upload_inputs = [&](const RunBuffers &r) {
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(r.ids, ids, static_cast<std::size_t>(rows) * sizeof(std::int32_t),
                                    cudaMemcpyHostToDevice, st));
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(r.past_at, &past, sizeof past, cudaMemcpyHostToDevice, st));
    if (inv_freq)
      GPTQ_CUDA_CHECK(cudaMemcpyAsync(r.inv_freq, inv_freq, static_cast<std::size_t>(s.head_dim / 2) * sizeof(float),
                                      cudaMemcpyHostToDevice, st));
  };
  auto fetch_logits = [&](const RunBuffers &r) {
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(logits, r.logits, static_cast<std::size_t>(r.out_rows * s.vocab_size) * sizeof(float),
                                    cudaMemcpyDeviceToHost, st));
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(st));
  };

  if (cache && seq == 1 && cache->graphs) {
    if (device.cancelled()) throw Cancelled();
    DecodeGraph &g = decode_graph(*cache, device);
    upload_inputs(g.r);
    GPTQ_CUDA_CHECK(cudaGraphLaunch(g.exec, st));
    fetch_logits(g.r);
    cache->length += seq;
    return;
  }

  RunBuffers r;
  r.batch = batch;
  r.seq = seq;
  r.rows = rows;
  r.past = past;
  r.last_only = last_only && seq > 1;  // one row per sequence is its last row already
  r.out_rows = r.last_only ? batch : rows;
  Carver carve;
  lay_out(r, carve);
  const DeviceBuffer arena(carve.bytes(),
                           "the activations of a batch " + std::to_string(batch) + " x " + std::to_string(seq) +
                               " forward pass",
                           st);
  carve.assign(arena.get());
  bind_cache(r, cache);
  upload_inputs(r);
  enqueue(r, LinearCall{st, device.blas(), r.workspace, r.workspace_bytes}, &device);
  fetch_logits(r);
  if (cache) cache->length += seq;
}

}  // namespace gptq::cuda
