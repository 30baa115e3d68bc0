#include "cuda/runtime/device_model.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <utility>

#include "cuda/cuda_check.h"
#include "cuda/env_switch.h"
#include "cuda/pinned_host_buffer.h"
#include "cuda/kernels/gptq_linear.h"
#include "cuda/runtime/attention.h"
#include "cuda/runtime/block_forward.h"
#include "cuda/runtime/device_sampler.h"
#include "cuda/runtime/make_linear.h"
#include "cuda/plugin_error.h"

namespace gptq::cuda {

// The small inputs a run copies up before its kernels. They are carved
// first, so they are one range at the head of the run's arena: a captured
// decode step copies them in one copy from a page-locked host buffer carved
// the same way (carve_inputs on both).
struct StepInputs {
  std::int64_t *past_at = nullptr;  // [batch]: each sequence's length before the run
  std::int64_t *counts = nullptr;   // [batch]: each sequence's valid rows (last_only's rows)
  std::int32_t *ids = nullptr;      // [rows]
  float *inv_freq = nullptr;        // [head_dim / 2], RoPE models only
  std::uint8_t *active = nullptr;   // [batch]: the token choice's flags (a decode step's)
  double *uniforms = nullptr;       // [batch]: and its draws
};

namespace {

void carve_inputs(StepInputs &in, Carver &carve, std::int64_t batch, std::int64_t rows,
                  const gptq_plugin_model_spec &s) {
  carve.add(&in.past_at, batch);
  carve.add(&in.counts, batch);
  carve.add(&in.ids, rows);
  if (s.positions == GPTQ_PLUGIN_POSITIONS_ROPE) carve.add(&in.inv_freq, s.head_dim / 2);
  carve.add(&in.active, batch);
  carve.add(&in.uniforms, batch);
}

}  // namespace

// One whole-model run's slices of its arena: the blocks' (RunBuffers) and
// the inputs and outputs around them.
struct ModelRun {
  RunBuffers r;
  bool last_only = false;
  std::int64_t out_rows = 0;  // rows of logits: batch with last_only, else batch * seq
  StepInputs in;
  __half *scratch_k = nullptr, *scratch_v = nullptr;  // one layer's keys and values without a cache
  float *final_rows = nullptr, *logits = nullptr;
  __half *final_x = nullptr, *final_p = nullptr;
  char *workspace = nullptr;
  std::size_t workspace_bytes = 0;
};

// A decode step of one cache, captured: its arena (inputs, activations,
// logits) at fixed addresses, and the executable graph: the copy of the
// step's inputs from `inputs` (page-locked, laid out as the arena's head),
// the forward pass and, when the step chooses tokens on the device, the
// choice after the head and the copy of the tokens into `tokens`. A step is
// then one graph launch and one wait: no small pageable copy the driver
// stages on the way, no launch outside the graph.
struct DecodeGraph {
  DecodeGraph() = default;
  DecodeGraph(const DecodeGraph &) = delete;
  DecodeGraph &operator=(const DecodeGraph &) = delete;
  ~DecodeGraph() {
    if (exec) cudaGraphExecDestroy(exec);
  }
  const void *model = nullptr;  // the DeviceModel captured
  ModelRun m;
  DeviceBuffer arena;
  StepInputs host_in;  // the same slices in `inputs`
  PinnedHostBuffer inputs, tokens;
  std::optional<SampleArgs> choice;  // the token choice captured, if any (its logits, flags and draws: m's)
  cudaGraphExec_t exec = nullptr;
};

DeviceCache::DeviceCache() = default;
DeviceCache::~DeviceCache() = default;

namespace {

bool is_block_role(std::int32_t role) { return role >= GPTQ_PLUGIN_ROLE_ATTN_NORM && role <= GPTQ_PLUGIN_ROLE_DOWN; }

// Whether a graph that captured `had` runs the choice `want` (both absent,
// or the same launch but for the arrays the graph gives it: its logits,
// flags and draws). The sampler's options, the presence of a penalty and
// its seen tokens' buffer (which grows) are in the launch, so a change of
// any of them is a new capture.
bool same_choice(const std::optional<SampleArgs> &had, const SampleArgs *want) {
  if (!had || !want) return !had && !want;
  const SampleArgs &a = *had, &b = *want;
  return a.scratch == b.scratch && a.weights == b.weights && a.seen_ids == b.seen_ids &&
         a.seen_offsets == b.seen_offsets && a.tokens == b.tokens && a.batch == b.batch && a.vocab == b.vocab &&
         a.options.temperature == b.options.temperature && a.options.top_k == b.options.top_k &&
         a.options.top_p == b.options.top_p && a.options.repetition_penalty == b.options.repetition_penalty;
}

void require(bool ok, const std::string &what) {
  if (!ok) throw InvalidArgument(what);
}

}  // namespace

DeviceModel::DeviceModel(const gptq_plugin_model_spec &s) : spec_(s) {
  check_model_spec(s);
  model_type_ = s.model_type ? s.model_type : "model";
  spec_.model_type = model_type_.c_str();
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
  const auto [er, ec] = role_shape(s, role);
  require(is_block_role(role) == (layer >= 0) && layer < s.num_layers,
          tensor_name(layer, role) + ": no such tensor in a " + model_type_ + " of " + std::to_string(s.num_layers) +
              " layers");
  // Learned positions: the table may hold more rows than the context uses.
  const bool rows_ok = role == GPTQ_PLUGIN_ROLE_EMBED_POSITIONS ? rows >= er : rows == er;
  require(rows_ok && cols == ec, tensor_name(layer, role) + " is " + std::to_string(rows) + "x" +
                                     std::to_string(cols) + ", the spec says " + std::to_string(er) + "x" +
                                     std::to_string(ec));
}

namespace {

std::int64_t nanoseconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void DeviceModel::set_dense(std::int32_t layer, std::int32_t role, const gptq_plugin_dense &t, cudaStream_t stream) {
  require(!finished_, "the model is finished; no tensor can be set");
  require(t.weight != nullptr, tensor_name(layer, role) + ": no weight");
  check_shape(layer, role, t.rows, t.cols);
  const std::string what = model_type_ + " " + tensor_name(layer, role);
  const auto count = static_cast<std::size_t>(t.rows * t.cols);
  const auto t0 = std::chrono::steady_clock::now();
  // Uploaded first, then put in its slot under the lock.
  auto norm = [&](Norm &n) {
    Norm made;
    made.weight = upload(t.weight, count, what);
    made.bias = t.bias ? upload(t.bias, count, what + " bias") : DeviceBuffer();
    upload_bytes_ += made.weight.bytes() + made.bias.bytes();
    upload_ns_ += nanoseconds_since(t0);
    const std::lock_guard<std::mutex> lock(mutex_);
    n = std::move(made);
  };
  switch (role) {
    case GPTQ_PLUGIN_ROLE_ATTN_NORM: norm(blocks_[static_cast<std::size_t>(layer)].attn_norm); return;
    case GPTQ_PLUGIN_ROLE_MLP_NORM: norm(blocks_[static_cast<std::size_t>(layer)].mlp_norm); return;
    case GPTQ_PLUGIN_ROLE_FINAL_NORM: norm(final_norm_); return;
    case GPTQ_PLUGIN_ROLE_EMBED_TOKENS: {
      auto table = std::make_shared<const DeviceBuffer>(upload_half(t.weight, count, what));
      upload_bytes_ += table->bytes();
      upload_ns_ += nanoseconds_since(t0);
      const std::lock_guard<std::mutex> lock(mutex_);
      embed_tokens_ = std::move(table);
      return;
    }
    case GPTQ_PLUGIN_ROLE_EMBED_POSITIONS: {
      DeviceBuffer table = upload_half(t.weight, count, what);
      upload_bytes_ += table.bytes();
      upload_ns_ += nanoseconds_since(t0);
      const std::lock_guard<std::mutex> lock(mutex_);
      embed_positions_ = std::move(table);
      return;
    }
    case GPTQ_PLUGIN_ROLE_LM_HEAD: {
      require(!spec_.tie_word_embeddings, "lm_head set on a model whose embeddings are tied");
      std::unique_ptr<DenseLinear> head = make_dense_linear(t.weight, t.bias, t.rows, t.cols, what);
      upload_bytes_ += head->device_bytes();
      upload_ns_ += nanoseconds_since(t0);
      const std::lock_guard<std::mutex> lock(mutex_);
      lm_head_ = std::move(head);
      return;
    }
    default: break;
  }
  std::unique_ptr<DeviceLinear> *slot = linear_slot(layer, role);
  require(slot != nullptr, tensor_name(layer, role) + " is not a dense tensor");
  std::unique_ptr<DeviceLinear> made = make_dense_linear(t.weight, t.bias, t.rows, t.cols, what);
  upload_bytes_ += made->device_bytes();
  upload_ns_ += nanoseconds_since(t0);
  std::unique_lock<std::mutex> lock(mutex_);
  check_not_fused(layer, role);
  if (layer >= 0) blocks_[static_cast<std::size_t>(layer)].waiting.erase(role);
  *slot = std::move(made);
  settle_group(layer, role, stream, lock);
}

void DeviceModel::set_gptq(std::int32_t layer, std::int32_t role, const gptq_plugin_gptq_linear &l,
                           cudaStream_t stream) {
  require(!finished_, "the model is finished; no tensor can be set");
  check_shape(layer, role, l.out_features, l.in_features);
  std::unique_ptr<DeviceLinear> *slot = linear_slot(layer, role);
  require(slot != nullptr && layer >= 0, tensor_name(layer, role) + " cannot be a GPTQ linear here");
  const HostGptqLinear h{l.bits, l.out_features, l.in_features, l.groups, l.codes, l.zeros, l.scales, l.g_idx,
                         l.bias};
  const std::string what = model_type_ + " " + tensor_name(layer, role);
  Block &b = blocks_[static_cast<std::size_t>(layer)];
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    check_not_fused(layer, role);
  }
  // The repack (the host's part of the load) outside the lock.
  std::optional<GptqPacked> packed;
  std::unique_ptr<DeviceLinear> made;
  if (has_gptq_kernel(h.bits)) {
    check_gptq_linear(h, what);
    const auto t0 = std::chrono::steady_clock::now();
    try {
      packed = repack_gptq(h);
    } catch (const std::invalid_argument &e) {
      throw InvalidArgument(what + ": " + e.what());
    }
    repack_ns_ += nanoseconds_since(t0);
  }
  const bool waits = packed && !group_of(role).empty();  // h is borrowed: the group may complete later
  if (!waits) {
    const auto t0 = std::chrono::steady_clock::now();
    made = packed ? make_gptq_linear(*packed, stream) : make_linear(h, stream, what);
    upload_bytes_ += made->device_bytes();
    upload_ns_ += nanoseconds_since(t0);
  }
  std::unique_lock<std::mutex> lock(mutex_);
  check_not_fused(layer, role);
  b.waiting.erase(role);
  if (waits) {
    b.waiting[role] = std::move(*packed);
    slot->reset();
  } else {
    *slot = std::move(made);
  }
  settle_group(layer, role, stream, lock);
}

std::vector<std::int32_t> DeviceModel::group_of(std::int32_t role) const {
  switch (role) {
    case GPTQ_PLUGIN_ROLE_Q:
    case GPTQ_PLUGIN_ROLE_K:
    case GPTQ_PLUGIN_ROLE_V: return {GPTQ_PLUGIN_ROLE_Q, GPTQ_PLUGIN_ROLE_K, GPTQ_PLUGIN_ROLE_V};
    case GPTQ_PLUGIN_ROLE_GATE:
    case GPTQ_PLUGIN_ROLE_UP:
      if (spec_.gated_mlp) return {GPTQ_PLUGIN_ROLE_GATE, GPTQ_PLUGIN_ROLE_UP};
      return {};
    default: return {};
  }
}

void DeviceModel::check_not_fused(std::int32_t layer, std::int32_t role) const {
  if (layer < 0) return;
  const Block &b = blocks_[static_cast<std::size_t>(layer)];
  const std::vector<std::int32_t> group = group_of(role);
  if (group.empty()) return;
  const bool fused = group[0] == GPTQ_PLUGIN_ROLE_Q ? b.qkv != nullptr : b.gate_up != nullptr;
  require(!fused, tensor_name(layer, role) + " was set already (and fused with the rest of its group)");
}

void DeviceModel::settle_group(std::int32_t layer, std::int32_t role, cudaStream_t stream,
                               std::unique_lock<std::mutex> &lock) {
  const std::vector<std::int32_t> group = group_of(role);
  if (group.empty()) return;
  Block &b = blocks_[static_cast<std::size_t>(layer)];
  std::vector<std::int32_t> waiting;
  std::string why;
  for (std::int32_t r : group) {
    const auto it = b.waiting.find(r);
    if (it == b.waiting.end()) {
      if (!*linear_slot(layer, r)) return;  // not complete yet
      if (why.empty()) why = std::string(role_name(r)) + " is no 4- or 8-bit GPTQ layer";
      continue;
    }
    waiting.push_back(r);
  }
  // Complete: this thread takes the waiting members and fuses or uploads
  // them without the lock (no other call touches this group now).
  std::vector<GptqPacked> members;
  std::vector<std::string> names;
  for (std::int32_t r : waiting) {
    members.push_back(std::move(b.waiting[r]));
    names.emplace_back(role_name(r));
    b.waiting.erase(r);
  }
  const bool qkv = group[0] == GPTQ_PLUGIN_ROLE_Q;
  lock.unlock();
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<DeviceLinear> fused;
  std::vector<std::unique_ptr<DeviceLinear>> apart;
  if (why.empty()) {
    std::vector<const GptqPacked *> ptrs;
    for (const GptqPacked &m : members) ptrs.push_back(&m);
    if (std::optional<GptqPacked> f = fuse_gptq(ptrs, names, &why)) fused = make_gptq_linear(*f, stream);
  }
  if (!fused)
    for (const GptqPacked &m : members) apart.push_back(make_gptq_linear(m, stream));
  if (fused) upload_bytes_ += fused->device_bytes();
  for (const auto &a : apart) upload_bytes_ += a->device_bytes();
  upload_ns_ += nanoseconds_since(t0);
  lock.lock();
  if (fused) {
    (qkv ? b.qkv : b.gate_up) = std::move(fused);
    ++(qkv ? fused_qkv_ : fused_gate_up_);
    return;
  }
  for (std::size_t i = 0; i < waiting.size(); ++i) *linear_slot(layer, waiting[i]) = std::move(apart[i]);
  if (first_apart_layer_ < 0 || layer < first_apart_layer_) {
    first_apart_layer_ = layer;
    first_apart_ = "layer " + std::to_string(layer) + (qkv ? " q/k/v" : " gate/up") + " run apart: " + why;
  }
}

std::string DeviceModel::load_summary() const {
  char line[256];
  std::snprintf(line, sizeof line,
                "%s load, summed over the threads that set tensors: repack %.2f s, upload %.2f s of %.2f GB",
                model_type_.c_str(), static_cast<double>(repack_ns_.load()) * 1e-9,
                static_cast<double>(upload_ns_.load()) * 1e-9, static_cast<double>(upload_bytes_.load()) * 1e-9);
  return line;
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
    // A member set but waiting for its group is set: name the one missing.
    auto set = [&](const std::unique_ptr<DeviceLinear> &slot, const std::unique_ptr<DeviceLinear> &fused,
                   std::int32_t role) { return slot || fused || b.waiting.count(role) > 0; };
    need(set(b.q, b.qkv, GPTQ_PLUGIN_ROLE_Q), i, GPTQ_PLUGIN_ROLE_Q);
    need(set(b.k, b.qkv, GPTQ_PLUGIN_ROLE_K), i, GPTQ_PLUGIN_ROLE_K);
    need(set(b.v, b.qkv, GPTQ_PLUGIN_ROLE_V), i, GPTQ_PLUGIN_ROLE_V);
    need(b.o != nullptr, i, GPTQ_PLUGIN_ROLE_O);
    if (s.gated_mlp) need(set(b.gate, b.gate_up, GPTQ_PLUGIN_ROLE_GATE), i, GPTQ_PLUGIN_ROLE_GATE);
    need(set(b.up, b.gate_up, GPTQ_PLUGIN_ROLE_UP), i, GPTQ_PLUGIN_ROLE_UP);
    need(b.down != nullptr, i, GPTQ_PLUGIN_ROLE_DOWN);
  }
  if (s.tie_word_embeddings)
    lm_head_ = std::make_unique<DenseLinear>(embed_tokens_, DeviceBuffer(), s.vocab_size, s.embed_width);
  const std::string layers = " of " + std::to_string(s.num_layers) + " layers";
  fusion_summary_ = model_type_ + ": one product for q/k/v in " + std::to_string(fused_qkv_) + layers;
  if (s.gated_mlp) fusion_summary_ += ", for gate/up in " + std::to_string(fused_gate_up_) + layers;
  if (!first_apart_.empty()) fusion_summary_ += " (" + first_apart_ + ")";
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
  cache->lengths.assign(static_cast<std::size_t>(batch), 0);
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
  cache->graphs = !switched_off("GPTQ_CUDA_GRAPHS");
  return cache;
}

void DeviceModel::lay_out(ModelRun &m, Carver &carve) const {
  const gptq_plugin_model_spec &s = spec_;
  RunBuffers &r = m.r;
  const std::int64_t rows = r.rows, hidden = s.hidden_size, wide = std::max(s.hidden_size, s.embed_width);
  const std::int64_t kvw = s.num_kv_heads * s.head_dim;
  m.workspace_bytes = 0;
  for (const Block &b : blocks_)
    for (const auto *l : {&b.q, &b.k, &b.v, &b.o, &b.gate, &b.up, &b.down, &b.qkv, &b.gate_up})
      if (*l) m.workspace_bytes = std::max(m.workspace_bytes, (*l)->workspace_bytes(rows));
  if (project_in_) m.workspace_bytes = std::max(m.workspace_bytes, project_in_->workspace_bytes(rows));
  if (project_out_) m.workspace_bytes = std::max(m.workspace_bytes, project_out_->workspace_bytes(m.out_rows));
  carve_inputs(m.in, carve, r.batch, rows, s);  // first: the head of the arena, as `inputs` is laid out
  carve.add(&r.hidden, rows * hidden);
  carve_block(carve, r, s, rows, wide);
  carve.add(&m.final_rows, m.out_rows * hidden);
  carve.add(&m.final_x, m.out_rows * wide);
  carve.add(&m.final_p, m.out_rows * wide);
  carve.add(&m.logits, m.out_rows * s.vocab_size);
  // Without a cache, each layer's keys and values live in one layer's worth
  // of scratch, reused by the next layer (bind_cache decides).
  carve.add(&m.scratch_k, rows * kvw);
  carve.add(&m.scratch_v, rows * kvw);
  carve.add(&m.workspace, static_cast<std::int64_t>(m.workspace_bytes));
}

void DeviceModel::bind_cache(ModelRun &m, DeviceCache *cache) const {
  RunBuffers &r = m.r;
  r.past_at = m.in.past_at;
  r.inv_freq = m.in.inv_freq;
  if (cache) {
    r.k_cache = cache->memory.as<__half>();
    r.v_cache = r.k_cache + spec_.num_layers * cache->layer_elements;
    r.capacity = cache->capacity;
    r.layer_elements = cache->layer_elements;
  } else {
    r.k_cache = m.scratch_k;
    r.v_cache = m.scratch_v;
    r.capacity = r.seq;
    r.layer_elements = 0;
  }
}

void DeviceModel::enqueue(ModelRun &m, const LinearCall &call, const ForwardDevice *cancel) const {
  const gptq_plugin_model_spec &s = spec_;
  RunBuffers &r = m.r;
  const cudaStream_t st = call.stream;
  const std::int64_t rows = r.rows, hidden = s.hidden_size;
  embed_rows(m.in.ids, embed_tokens_->as<const __half>(), rows, s.embed_width, r.x, st);
  const __half *embedded = r.x;
  if (project_in_) {
    project_in_->forward(r.x, r.y, rows, call);
    embedded = r.y;
  }
  to_hidden(embedded, embed_positions_.get() ? embed_positions_.as<const __half>() : nullptr, rows, hidden, r.seq,
            m.in.past_at, s.position_offset, r.hidden, st);

  const bool final_in_last_block = s.norm_before && s.final_norm && !m.last_only && !blocks_.empty();
  for (std::size_t layer = 0; layer < blocks_.size(); ++layer) {
    const Block &b = blocks_[layer];
    const BlockNorms norms{b.attn_norm.weight.as<const float>(), b.attn_norm.bias.as<const float>(),
                           b.mlp_norm.weight.as<const float>(), b.mlp_norm.bias.as<const float>()};
    const LinearFor linear = [&b](std::int32_t role, const __half *, std::int64_t) -> const DeviceLinear & {
      switch (role) {
        case GPTQ_PLUGIN_ROLE_Q: return *b.q;
        case GPTQ_PLUGIN_ROLE_K: return *b.k;
        case GPTQ_PLUGIN_ROLE_V: return *b.v;
        case GPTQ_PLUGIN_ROLE_O: return *b.o;
        case GPTQ_PLUGIN_ROLE_GATE: return *b.gate;
        case GPTQ_PLUGIN_ROLE_UP: return *b.up;
        default: return *b.down;
      }
    };
    // Pre-norm: each block's last residual add computes the next norm (the
    // next block's, or the final norm when every row goes to the head).
    BlockSeams seams;
    if (s.norm_before) {
      seams.input_normed = layer > 0;
      if (layer + 1 < blocks_.size()) {
        seams.next_weight = blocks_[layer + 1].attn_norm.weight.as<const float>();
        seams.next_bias = blocks_[layer + 1].attn_norm.bias.as<const float>();
      } else if (final_in_last_block) {
        seams.next_weight = final_norm_.weight.as<const float>();
        seams.next_bias = final_norm_.bias.as<const float>();
      }
    }
    const FusedFor fused = [&b](std::int32_t role) -> const DeviceLinear * {
      return role == GPTQ_PLUGIN_ROLE_Q ? b.qkv.get() : role == GPTQ_PLUGIN_ROLE_GATE ? b.gate_up.get() : nullptr;
    };
    run_block(spec_, norm_kind_, act_, norms, linear, fused, static_cast<std::int64_t>(layer), r, call, seams);
    if (cancel && cancel->cancelled()) {
      GPTQ_CUDA_CHECK(cudaStreamSynchronize(st));  // no work left queued
      throw Cancelled();
    }
  }

  // The head's input: the last block's norm of every row, or the final norm
  // (or the fp16 copy) of the rows that go to the head.
  const __half *normed = r.x;
  if (!final_in_last_block) {
    const float *last = r.hidden;
    if (m.last_only) {
      last_rows(r.hidden, r.batch, r.seq, m.in.counts, hidden, m.final_rows, st);
      last = m.final_rows;
    }
    if (s.final_norm)
      norm_rows(norm_kind_, last, final_norm_.weight.as<float>(), final_norm_.bias.as<float>(), s.norm_eps,
                m.out_rows, hidden, m.final_x, st);
    else
      to_half(last, m.out_rows * hidden, m.final_x, st);
    normed = m.final_x;
  }
  const __half *head_in = normed;
  if (project_out_) {
    project_out_->forward(normed, m.final_p, m.out_rows, call);
    head_in = m.final_p;
  }
  lm_head_->forward_f32(head_in, m.logits, m.out_rows, call);
}

DecodeGraph &DeviceModel::decode_graph(DeviceCache &cache, const ForwardDevice &device,
                                       const SampleArgs *choice) const {
  if (cache.decode && cache.decode->model == this && same_choice(cache.decode->choice, choice)) return *cache.decode;
  cache.decode.reset();
  const cudaStream_t st = device.stream();
  auto g = std::make_unique<DecodeGraph>();
  ModelRun &m = g->m;
  m.r.batch = cache.batch;
  m.r.seq = 1;
  m.r.rows = cache.batch;
  m.out_rows = cache.batch;       // one row per sequence: every row is a last row
  m.r.past = cache.capacity - 1;  // the launches' shape covers every position any sequence can reach
  Carver carve;
  lay_out(m, carve);
  const std::string what = "a batch " + std::to_string(m.r.batch) + " decode step";
  g->arena = DeviceBuffer(carve.bytes(), "the activations of " + what);
  carve.assign(g->arena.get());
  Carver host;
  carve_inputs(g->host_in, host, m.r.batch, m.r.rows, spec_);
  g->inputs = PinnedHostBuffer(host.bytes(), "the inputs of " + what);
  host.assign(g->inputs.get());
  if (choice) {
    g->choice = *choice;
    g->choice->logits = m.logits;
    g->choice->active = m.in.active;
    g->choice->uniforms = m.in.uniforms;
    g->tokens = PinnedHostBuffer(static_cast<std::size_t>(m.r.batch) * sizeof(std::int32_t), "the tokens of " + what);
  }
  bind_cache(m, &cache);
  const LinearCall call{st, device.blas(), m.workspace, m.workspace_bytes};
  // Thread-local capture: other threads' CUDA calls go on as usual.
  GPTQ_CUDA_CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
  cudaGraph_t graph = nullptr;
  try {
    // The copies are nodes of the graph: each replay reads the page-locked
    // inputs as they are then, and writes the tokens back.
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(g->arena.get(), g->inputs.get(), g->inputs.bytes(), cudaMemcpyHostToDevice, st));
    enqueue(m, call, nullptr);
    if (g->choice) {
      // Not chained: the head's last node is cuBLAS's, which may be other
      // than a kernel (a programmatic edge joins kernels only).
      sample_rows(*g->choice, false, st);
      GPTQ_CUDA_CHECK(cudaMemcpyAsync(g->tokens.get(), g->choice->tokens, g->tokens.bytes(), cudaMemcpyDeviceToHost,
                                      st));
    }
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
                      const std::int64_t *counts, DeviceCache *cache, bool last_only, const float *inv_freq,
                      float *logits, const TokenChoice *choice) const {
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
  require(counts != nullptr, "a run needs each sequence's count of valid rows");
  if (choice)
    require(cache != nullptr && last_only && choice->step != nullptr && choice->tokens != nullptr,
            "a run that chooses tokens needs a KV cache, last_only, the step and a tokens array");
  if (cache)
    require(cache->batch == batch, "the KV cache holds " + std::to_string(cache->batch) +
                                       " sequences; this run has " + std::to_string(batch));
  // Each sequence continues at its own length; every row of it (padding
  // too) is stored, so length + seq must fit.
  const std::vector<std::int64_t> lengths =
      cache ? cache->lengths : std::vector<std::int64_t>(static_cast<std::size_t>(batch), 0);
  std::int64_t past = 0;  // the longest: the launches' shape
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t length = lengths[static_cast<std::size_t>(b)];
    const std::string which = "sequence " + std::to_string(b) + ": ";
    require(counts[b] >= 0 && counts[b] <= seq,
            which + std::to_string(counts[b]) + " valid rows of a run of " + std::to_string(seq));
    require(length + seq <= s.max_positions, which + "positions up to " + std::to_string(length + seq) +
                                                 " exceed the model's context of " +
                                                 std::to_string(s.max_positions));
    if (cache)
      require(length + seq <= cache->capacity,
              which + "the KV cache holds " + std::to_string(cache->capacity) + " positions (" +
                  std::to_string(length) + " used); this run needs " + std::to_string(length + seq));
    past = std::max(past, length);
  }

  const std::lock_guard<std::mutex> lock(device.mutex());
  const cudaStream_t st = device.stream();
  DeviceSampler *sampler = nullptr;
  if (choice) {
    if (!cache->sampler) cache->sampler = std::make_unique<DeviceSampler>(cache->batch, s.vocab_size);
    sampler = cache->sampler.get();
  }
  const auto per_sequence = static_cast<std::size_t>(batch) * sizeof(std::int64_t);
  const auto id_bytes = static_cast<std::size_t>(rows) * sizeof(std::int32_t);
  const auto freq_bytes = static_cast<std::size_t>(s.head_dim / 2) * sizeof(float);
  // Every row of logits of a run without a choice to the host.
  auto fetch_logits = [&](const ModelRun &m) {
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(logits, m.logits,
                                    static_cast<std::size_t>(m.out_rows * s.vocab_size) * sizeof(float),
                                    cudaMemcpyDeviceToHost, st));
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(st));
  };

  if (cache && seq == 1 && cache->graphs) {
    if (device.cancelled()) throw Cancelled();
    std::optional<SampleArgs> wanted;
    if (sampler) {
      sampler->prepare(*choice->step, st);  // the options and seen tokens; flags and draws go with the inputs
      wanted = sampler->args(nullptr);
    }
    DecodeGraph &g = decode_graph(*cache, device, wanted ? &*wanted : nullptr);
    // The previous step ended with a wait on the stream: nothing reads the
    // page-locked inputs now.
    const StepInputs &in = g.host_in;
    std::memcpy(in.ids, ids, id_bytes);
    std::memcpy(in.past_at, lengths.data(), per_sequence);
    std::memcpy(in.counts, counts, per_sequence);
    if (inv_freq) std::memcpy(in.inv_freq, inv_freq, freq_bytes);
    if (sampler) {
      std::memcpy(in.active, choice->step->active, static_cast<std::size_t>(batch));
      std::memcpy(in.uniforms, choice->step->uniforms, static_cast<std::size_t>(batch) * sizeof(double));
    }
    GPTQ_CUDA_CHECK(cudaGraphLaunch(g.exec, st));
    if (sampler) {
      GPTQ_CUDA_CHECK(cudaStreamSynchronize(st));
      std::memcpy(choice->tokens, g.tokens.get(), id_bytes);
      sampler->fetch_rows_left_to_host(g.m.logits, choice->tokens, logits, st);
    } else {
      fetch_logits(g.m);
    }
    for (std::int64_t b = 0; b < batch; ++b) cache->lengths[static_cast<std::size_t>(b)] += counts[b];
    return;
  }

  // A run kernel by kernel: inputs and logits go through its own arena;
  // pageable host sources are staged before the copies return, so the host
  // arrays may go then.
  auto upload_inputs = [&](const ModelRun &m) {
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(m.in.ids, ids, id_bytes, cudaMemcpyHostToDevice, st));
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(m.in.past_at, lengths.data(), per_sequence, cudaMemcpyHostToDevice, st));
    if (m.last_only)  // its only reader: last_rows (a decode step's rows are every sequence's last)
      GPTQ_CUDA_CHECK(cudaMemcpyAsync(m.in.counts, counts, per_sequence, cudaMemcpyHostToDevice, st));
    if (inv_freq) GPTQ_CUDA_CHECK(cudaMemcpyAsync(m.in.inv_freq, inv_freq, freq_bytes, cudaMemcpyHostToDevice, st));
  };
  // The step's inputs go up before the forward pass, so that the choice's
  // kernel follows the head's directly (chained).
  if (sampler) sampler->upload(*choice->step, st);

  ModelRun m;
  m.r.batch = batch;
  m.r.seq = seq;
  m.r.rows = rows;
  m.r.past = past;
  m.last_only = last_only && seq > 1;  // one row per sequence is its last row already
  m.out_rows = m.last_only ? batch : rows;
  Carver carve;
  lay_out(m, carve);
  const DeviceBuffer arena(carve.bytes(),
                           "the activations of a batch " + std::to_string(batch) + " x " + std::to_string(seq) +
                               " forward pass",
                           st);
  carve.assign(arena.get());
  bind_cache(m, cache);
  upload_inputs(m);
  enqueue(m, LinearCall{st, device.blas(), m.workspace, m.workspace_bytes}, &device);
  if (sampler) {
    sampler->enqueue(m.logits, true, st);
    sampler->fetch(m.logits, choice->tokens, logits, st);
  } else {
    fetch_logits(m);
  }
  if (cache)
    for (std::int64_t b = 0; b < batch; ++b) cache->lengths[static_cast<std::size_t>(b)] += counts[b];
}

}  // namespace gptq::cuda
