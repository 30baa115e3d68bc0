#include "core/backend/plugin_forward_engine.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/backend/backend_loader.h"
#include "core/backend/plugin_status.h"
#include "core/base/error.h"
#include "core/model/block_weights.h"
#include "core/model/context_length.h"
#include "core/model/cpu_ops.h"
#include "core/model/rope.h"
#include "core/model/sequence_counts.h"

namespace gptq {
namespace {

class PluginModel final : public PreparedModel {
 public:
  PluginModel(const gptq_backend_plugin &table, void *state, model::ModelSpec spec)
      : table_(&table), state_(state), spec_(std::move(spec)) {}
  ~PluginModel() override {
    if (handle) table_->model_free(state_, handle);
  }
  PluginModel(const PluginModel &) = delete;
  PluginModel &operator=(const PluginModel &) = delete;
  const model::ModelSpec &spec() const override { return spec_; }

  gptq_plugin_model *handle = nullptr;

 private:
  const gptq_backend_plugin *table_;
  void *state_;
  model::ModelSpec spec_;
};

class PluginCache final : public SequenceCache {
 public:
  PluginCache(const gptq_backend_plugin &table, void *state, std::int64_t batch, std::int64_t capacity)
      : lengths(static_cast<std::size_t>(batch), 0), table_(&table), state_(state), batch_(batch),
        capacity_(capacity) {}
  ~PluginCache() override {
    if (handle) table_->cache_free(state_, handle);
  }
  PluginCache(const PluginCache &) = delete;
  PluginCache &operator=(const PluginCache &) = delete;
  std::int64_t batch() const override { return batch_; }
  std::int64_t capacity() const override { return capacity_; }
  std::int64_t length(std::int64_t b) const override {
    if (b < 0 || b >= batch_)
      fail(Status::InvalidArgument, "KV cache has no sequence " + std::to_string(b) + " (it has " +
                                        std::to_string(batch_) + ")");
    return lengths[static_cast<std::size_t>(b)];
  }

  gptq_plugin_cache *handle = nullptr;
  // The plugin extends its cache only when a run succeeds; so do these.
  std::vector<std::int64_t> lengths;

 private:
  const gptq_backend_plugin *table_;
  void *state_;
  std::int64_t batch_, capacity_;
};

template <class T, class Base>
T &mine(Base &b, const char *what) {
  auto *t = dynamic_cast<T *>(&b);
  if (!t) fail(Status::Internal, std::string("plugin forward engine: ") + what + " made by another engine");
  return *t;
}

gptq_plugin_activation plugin_activation(std::string_view name) {
  switch (model::parse_activation(name)) {
    case model::Activation::Silu: return GPTQ_PLUGIN_ACT_SILU;
    case model::Activation::Relu: return GPTQ_PLUGIN_ACT_RELU;
    case model::Activation::Gelu: return GPTQ_PLUGIN_ACT_GELU;
    case model::Activation::GeluTanh: return GPTQ_PLUGIN_ACT_GELU_TANH;
  }
  fail(Status::Internal, "unknown activation");
}

gptq_plugin_model_spec plugin_spec(const model::ModelSpec &s, const model::GlobalWeights &g) {
  gptq_plugin_model_spec p{};
  p.size = sizeof p;
  p.model_type = s.model_type.c_str();
  p.hidden_size = s.hidden_size;
  p.num_layers = s.num_layers;
  p.num_heads = s.num_heads;
  p.num_kv_heads = s.num_kv_heads;
  p.head_dim = s.head_dim;
  p.intermediate_size = s.intermediate_size;
  p.vocab_size = s.vocab_size;
  p.embed_width = s.word_embed_proj_dim;
  p.max_positions = model::context_length(s);
  p.positions = s.positions == model::PositionKind::Rope ? GPTQ_PLUGIN_POSITIONS_ROPE : GPTQ_PLUGIN_POSITIONS_LEARNED;
  p.position_offset = s.position_offset;
  p.norm = s.norm == model::NormKind::RmsNorm ? GPTQ_PLUGIN_NORM_RMS : GPTQ_PLUGIN_NORM_LAYER;
  p.norm_eps = s.norm_eps;
  p.norm_before = s.norm_before ? 1 : 0;
  // The loader decides (a post-norm OPT has none, whatever the flag says).
  p.final_norm = g.final_norm.weight.empty() ? 0 : 1;
  p.gated_mlp = s.arch->block_layout.gate.empty() ? 0 : 1;
  p.activation = plugin_activation(s.activation);
  p.tie_word_embeddings = g.lm_head.weight.empty() ? 1 : 0;
  p.project_embeddings = g.project_in.weight.empty() ? 0 : 1;
  p.sliding_window = s.sliding_window.value_or(0);
  return p;
}

// Hands tensors to a model being made, naming each in a failure.
class Uploader {
 public:
  Uploader(const gptq_backend_plugin &table, void *state, gptq_plugin_model *model)
      : t_(&table), state_(state), model_(model) {}

  void norm(std::int32_t layer, gptq_plugin_role role, const model::NormWeights &n, const std::string &name) const {
    if (n.weight.empty()) return;
    const gptq_plugin_dense d{1, static_cast<std::int64_t>(n.weight.size()), n.weight.data(),
                              n.bias.empty() ? nullptr : n.bias.data()};
    char err[512] = {0};
    check_plugin(t_->model_set_dense(state_, model_, layer, role, &d, err, sizeof err), t_->name,
                 "uploading " + name, err);
  }

  void table(gptq_plugin_role role, const std::vector<float> &w, std::int64_t rows, const std::string &name) const {
    if (w.empty()) return;
    const gptq_plugin_dense d{rows, static_cast<std::int64_t>(w.size()) / rows, w.data(), nullptr};
    char err[512] = {0};
    check_plugin(t_->model_set_dense(state_, model_, -1, role, &d, err, sizeof err), t_->name, "uploading " + name,
                 err);
  }

  void linear(std::int32_t layer, gptq_plugin_role role, const model::LinearWeights &w, const std::string &name) const {
    char err[512] = {0};
    const float *bias = w.bias.empty() ? nullptr : w.bias.data();
    if (w.gptq.bits > 0) {
      const quant::UnpackedGptq &q = w.gptq;
      const gptq_plugin_gptq_linear l{q.bits, q.out_features, q.in_features, q.groups, q.codes.data(),
                                      q.zeros.data(), q.scales.data(), q.g_idx.data(), bias};
      check_plugin(t_->model_set_gptq(state_, model_, layer, role, &l, err, sizeof err), t_->name,
                   "uploading " + name, err);
      return;
    }
    if (w.weight.empty()) return;
    const gptq_plugin_dense d{w.out_features, w.in_features, w.weight.data(), bias};
    check_plugin(t_->model_set_dense(state_, model_, layer, role, &d, err, sizeof err), t_->name,
                 "uploading " + name, err);
  }

 private:
  const gptq_backend_plugin *t_;
  void *state_;
  gptq_plugin_model *model_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::int64_t nanoseconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
}

// One tensor of a block, as prepare hands it over.
struct BlockTensor {
  std::int64_t layer;
  gptq_plugin_role role;
  std::string_view module;
  bool norm;
};

// Every block's norms and linears, block by block, the linears of the
// architecture that has them.
std::vector<BlockTensor> block_tensors(const model::ModelSpec &spec) {
  const model::BlockLayout &l = spec.arch->block_layout;
  const std::pair<gptq_plugin_role, std::string_view> linears[] = {
      {GPTQ_PLUGIN_ROLE_Q, l.q},       {GPTQ_PLUGIN_ROLE_K, l.k},       {GPTQ_PLUGIN_ROLE_V, l.v},
      {GPTQ_PLUGIN_ROLE_O, l.o},       {GPTQ_PLUGIN_ROLE_GATE, l.gate}, {GPTQ_PLUGIN_ROLE_UP, l.up},
      {GPTQ_PLUGIN_ROLE_DOWN, l.down}};
  std::vector<BlockTensor> out;
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    out.push_back({layer, GPTQ_PLUGIN_ROLE_ATTN_NORM, l.attn_norm, true});
    out.push_back({layer, GPTQ_PLUGIN_ROLE_MLP_NORM, l.mlp_norm, true});
    for (const auto &[role, name] : linears)
      if (!name.empty()) out.push_back({layer, role, name, false});
  }
  return out;
}

// Opens once, with or without the error that came first; wait() returns
// once it is open, rethrowing that error.
class BeginGate {
 public:
  void open(std::exception_ptr error = nullptr) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (open_) return;
      open_ = true;
      error_ = std::move(error);
    }
    opened_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    opened_.wait(lock, [&] { return open_; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
  std::exception_ptr error_;
};

}  // namespace

bool PluginForwardEngine::supported(const gptq_backend_plugin &t) {
  return t.model_begin && t.model_set_dense && t.model_set_gptq && t.model_finish && t.model_free &&
         t.cache_create && t.cache_free && t.model_run;
}

bool PluginForwardEngine::block_supported(const gptq_backend_plugin &t) {
  return t.buffer_alloc && t.buffer_free && t.buffer_write && t.buffer_read && t.buffer_copy && t.block_create &&
         t.block_free && t.block_set_dense && t.block_run;
}

PluginForwardEngine::PluginForwardEngine(const gptq_backend_plugin &table, void *state, Logger &log)
    : table_(&table), state_(state), log_(&log), blocks_(block_supported(table)) {}

std::shared_ptr<const PreparedModel> PluginForwardEngine::prepare(const Compute &compute, const model::ModelSpec &spec,
                                                                  const io::ShardedCheckpoint &checkpoint) const {
  const auto t_start = std::chrono::steady_clock::now();
  // Model-level tensors in fp32 (a quantized lm_head, rare, dequantized);
  // blocks with their GPTQ linears unpacked, for the plugin's own kernels.
  // Every tensor is one task on the compute's threads, read (and unpacked)
  // and handed over by the same thread: the plugin's repack and upload of
  // one run while others read theirs. A task holds one tensor, so host
  // memory stays within a few tensors per thread; the plugin takes tensors
  // in any order and from several threads (backend_plugin.h).
  // The spec the plugin is begun with says which globals the checkpoint
  // has, so reading the two halves of the globals are the first tasks (the
  // pool hands tasks out in order): the one done last begins the model and
  // opens the gate, at which every later task waits with its tensor read
  // before handing it over.
  model::GlobalWeights globals;
  auto prepared = std::make_shared<PluginModel>(*table_, state_, spec);
  std::optional<Uploader> up;  // set before the gate opens
  BeginGate gate;
  std::atomic<int> globals_left{2};
  double begun_s = 0;
  const model::GlobalLayout &gl = spec.arch->global_layout;
  const std::vector<BlockTensor> tensors = block_tensors(spec);
  constexpr std::int64_t kGlobalTasks = 4;  // read the two halves, then hand each over
  std::atomic<std::int64_t> read_ns{0}, handed_ns{0};
  const auto t_blocks = std::chrono::steady_clock::now();
  compute.for_each(kGlobalTasks + static_cast<std::int64_t>(tensors.size()), [&](std::int64_t i) {
    // Tasks 0 and 1 read the globals and never wait: every task that waits
    // at the gate was handed out after them, so the gate always opens.
    if (i < 2) {
      try {
        const auto t0 = std::chrono::steady_clock::now();
        model::load_global_part(spec, checkpoint, i == 0 ? model::GlobalPart::Embeddings : model::GlobalPart::Head,
                                globals);
        read_ns += nanoseconds_since(t0);
        if (--globals_left == 0) {
          const gptq_plugin_model_spec ps = plugin_spec(spec, globals);
          char err[512] = {0};
          check_plugin(table_->model_begin(state_, &ps, &prepared->handle, err, sizeof err), table_->name,
                       "preparing a " + spec.model_type + " model", err);
          up.emplace(*table_, state_, prepared->handle);
          begun_s = seconds_since(t_start);
          gate.open();
        }
      } catch (...) {
        gate.open(std::current_exception());
        throw;
      }
      return;
    }
    if (i < kGlobalTasks) {
      gate.wait();
      const auto t0 = std::chrono::steady_clock::now();
      if (i == 2) {
        up->table(GPTQ_PLUGIN_ROLE_EMBED_TOKENS, globals.embed_tokens, spec.vocab_size,
                  std::string(gl.embed_tokens));
        if (spec.positions == model::PositionKind::Learned)
          up->table(GPTQ_PLUGIN_ROLE_EMBED_POSITIONS, globals.embed_positions,
                    static_cast<std::int64_t>(globals.embed_positions.size()) / spec.hidden_size,
                    std::string(gl.embed_positions));
        std::vector<float>().swap(globals.embed_tokens);  // handed over: the host copy goes now
      } else {
        up->norm(-1, GPTQ_PLUGIN_ROLE_FINAL_NORM, globals.final_norm, std::string(gl.final_norm));
        up->linear(-1, GPTQ_PLUGIN_ROLE_LM_HEAD, globals.lm_head, std::string(gl.lm_head));
        up->linear(-1, GPTQ_PLUGIN_ROLE_PROJECT_IN, globals.project_in, std::string(gl.project_in));
        up->linear(-1, GPTQ_PLUGIN_ROLE_PROJECT_OUT, globals.project_out, std::string(gl.project_out));
        std::vector<float>().swap(globals.lm_head.weight);
      }
      handed_ns += nanoseconds_since(t0);
      return;
    }
    const BlockTensor &t = tensors[static_cast<std::size_t>(i - kGlobalTasks)];
    const auto li = static_cast<std::int32_t>(t.layer);
    const std::string name = model::block_prefix(*spec.arch, t.layer) + std::string(t.module);
    const auto t0 = std::chrono::steady_clock::now();
    if (t.norm) {
      const model::NormWeights n = model::load_block_norm(spec, checkpoint, t.layer, t.module);
      read_ns += nanoseconds_since(t0);
      gate.wait();
      const auto t1 = std::chrono::steady_clock::now();
      up->norm(li, t.role, n, name);
      handed_ns += nanoseconds_since(t1);
    } else {
      const model::LinearWeights w =
          model::load_block_linear(spec, checkpoint, t.layer, t.module, model::QuantizedLinears::Unpack);
      read_ns += nanoseconds_since(t0);
      gate.wait();
      const auto t1 = std::chrono::steady_clock::now();
      up->linear(li, t.role, w, name);
      handed_ns += nanoseconds_since(t1);
    }
  });
  const double blocks_s = seconds_since(t_blocks);
  const auto t_finish = std::chrono::steady_clock::now();
  char err[512] = {0};
  check_plugin(table_->model_finish(state_, prepared->handle, err, sizeof err), table_->name,
               "preparing a " + spec.model_type + " model", err);
  const double finish_s = seconds_since(t_finish);
  // The figures of issue 15's load time, for whoever reads the log.
  char line[512];
  std::snprintf(line, sizeof line,
                "prepared %s for %s in %.2f s on %d threads: the globals and %zu block tensors read, unpacked and "
                "handed over in %.2f s (model begun once the globals were read, at %.2f s; thread-seconds: "
                "read+unpack %.2f, %s's repack+upload %.2f); model_finish %.2f s",
                spec.model_type.c_str(), table_->name, seconds_since(t_start), compute.threads(), tensors.size(),
                blocks_s, begun_s, static_cast<double>(read_ns.load()) * 1e-9, table_->name,
                static_cast<double>(handed_ns.load()) * 1e-9, finish_s);
  log_->info(line);
  return prepared;
}

std::unique_ptr<SequenceCache> PluginForwardEngine::make_cache(const PreparedModel &model, std::int64_t batch,
                                                               std::int64_t capacity) const {
  const auto &m = mine<const PluginModel>(model, "a prepared model");
  if (batch <= 0 || capacity <= 0)
    fail(Status::InvalidArgument, "a KV cache needs batch and capacity > 0, got batch " + std::to_string(batch) +
                                      " and capacity " + std::to_string(capacity));
  auto cache = std::make_unique<PluginCache>(*table_, state_, batch, capacity);
  char err[512] = {0};
  check_plugin(table_->cache_create(state_, m.handle, batch, capacity, &cache->handle, err, sizeof err), table_->name,
               "KV cache for batch " + std::to_string(batch) + " x " + std::to_string(capacity) + " positions", err);
  return cache;
}

namespace {

// What a whole-model run hands the plugin, checked: each sequence's count
// and the RoPE frequencies of the positions it covers.
struct CheckedRun {
  std::vector<std::int64_t> grow;
  std::vector<float> inv_freq;
};

CheckedRun check_run(const model::ModelSpec &spec, std::span<const std::int32_t> ids, std::int64_t batch,
                     std::int64_t seq, const PluginCache *c, std::span<const std::int64_t> counts) {
  if (batch <= 0 || seq <= 0 || static_cast<std::int64_t>(ids.size()) != batch * seq)
    fail(Status::InvalidArgument, "forward: " + std::to_string(ids.size()) + " ids for batch " +
                                      std::to_string(batch) + " x seq " + std::to_string(seq));
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= spec.vocab_size)
      fail(Status::InvalidArgument, "token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                                        " is outside the vocabulary [0, " + std::to_string(spec.vocab_size) + ")");
  CheckedRun r;
  r.grow = model::sequence_counts(counts, batch, seq);
  if (c && c->batch() != batch)
    fail(Status::InvalidArgument, "the KV cache holds " + std::to_string(c->batch()) +
                                      " sequences; this run has " + std::to_string(batch));
  const std::vector<std::int64_t> past = c ? c->lengths : std::vector<std::int64_t>(static_cast<std::size_t>(batch), 0);
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t end = past[static_cast<std::size_t>(b)] + seq;
    const std::string which = batch > 1 ? " (sequence " + std::to_string(b) + ")" : std::string();
    model::require_within_context(spec, end, b, batch);
    if (c && end > c->capacity())
      fail(Status::InvalidArgument, "the KV cache holds " + std::to_string(c->capacity()) + " positions (" +
                                        std::to_string(past[static_cast<std::size_t>(b)]) + " used" + which +
                                        "); this run needs " + std::to_string(end));
  }
  if (spec.positions == model::PositionKind::Rope)
    r.inv_freq = model::rope_inv_freq(spec.rope, spec.head_dim, spec.max_position_embeddings,
                                      model::positions_covered(past, r.grow));
  return r;
}

}  // namespace

Matrix PluginForwardEngine::run(const Compute &compute, const PreparedModel &model, std::span<const std::int32_t> ids,
                                std::int64_t batch, std::int64_t seq, SequenceCache *cache, bool last_only,
                                std::span<const std::int64_t> counts) const {
  const auto &m = mine<const PluginModel>(model, "a prepared model");
  PluginCache *c = cache ? &mine<PluginCache>(*cache, "a KV cache") : nullptr;
  const model::ModelSpec &spec = m.spec();
  const CheckedRun r = check_run(spec, ids, batch, seq, c, counts);
  Matrix logits(last_only ? batch : batch * seq, spec.vocab_size);
  char err[512] = {0};
  int rc = GPTQ_PLUGIN_OK;
  {
    // The plugin asks between layers whether the call was cancelled.
    const PluginCallScope scope(compute);
    rc = table_->model_run(state_, m.handle, ids.data(), batch, seq, r.grow.data(), c ? c->handle : nullptr,
                           last_only ? 1 : 0, r.inv_freq.empty() ? nullptr : r.inv_freq.data(), logits.data.data(),
                           err, sizeof err);
  }
  if (rc == GPTQ_PLUGIN_ERR_CANCELLED)
    fail(Status::Cancelled, std::string("cancelled by the progress callback during the forward pass"));
  check_plugin(rc, table_->name, "forward pass of batch " + std::to_string(batch) + " x " + std::to_string(seq), err);
  if (c)
    for (std::size_t b = 0; b < r.grow.size(); ++b) c->lengths[b] += r.grow[b];
  compute.progress(1.0);
  return logits;
}

std::vector<std::int32_t> PluginForwardEngine::run_and_sample(const Compute &compute, const PreparedModel &model,
                                                              std::span<const std::int32_t> ids, std::int64_t batch,
                                                              std::int64_t seq, SequenceCache *cache,
                                                              std::span<const std::int64_t> counts,
                                                              const SampleStep &step, Matrix &logits) const {
  // Without the entry, or without a cache (whose device buffers the
  // sampler uses), every row comes to the host.
  if (!table_->model_run_sample || !cache)
    return ForwardEngine::run_and_sample(compute, model, ids, batch, seq, cache, counts, step, logits);
  const auto &m = mine<const PluginModel>(model, "a prepared model");
  PluginCache *c = &mine<PluginCache>(*cache, "a KV cache");
  const model::ModelSpec &spec = m.spec();
  check_sample_step(step, batch, spec.vocab_size);
  const CheckedRun r = check_run(spec, ids, batch, seq, c, counts);
  // Only the rows left to the host are written: the buffer is reused.
  if (logits.rows != batch || logits.cols != spec.vocab_size) logits = Matrix(batch, spec.vocab_size);
  gptq_plugin_sampling s{};
  s.size = sizeof s;
  s.temperature = step.temperature;
  s.top_k = step.top_k;
  s.top_p = step.top_p;
  s.repetition_penalty = step.repetition_penalty;
  s.active = step.active.data();
  s.uniforms = step.uniforms.data();
  s.seen_ids = step.seen_ids.data();
  s.seen_offsets = step.seen_offsets.empty() ? nullptr : step.seen_offsets.data();
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(batch), kTokenNotWanted);
  char err[512] = {0};
  int rc = GPTQ_PLUGIN_OK;
  {
    const PluginCallScope scope(compute);
    rc = table_->model_run_sample(state_, m.handle, ids.data(), batch, seq, r.grow.data(), c->handle,
                                  r.inv_freq.empty() ? nullptr : r.inv_freq.data(), &s, tokens.data(),
                                  logits.data.data(), err, sizeof err);
  }
  if (rc == GPTQ_PLUGIN_ERR_CANCELLED)
    fail(Status::Cancelled, std::string("cancelled by the progress callback during the forward pass"));
  check_plugin(rc, table_->name,
               "forward pass and token choice of batch " + std::to_string(batch) + " x " + std::to_string(seq), err);
  for (std::size_t b = 0; b < r.grow.size(); ++b) c->lengths[b] += r.grow[b];
  static_assert(kTokenNotWanted == GPTQ_PLUGIN_TOKEN_NOT_WANTED && kTokenOnHost == GPTQ_PLUGIN_TOKEN_ON_HOST);
  for (std::size_t b = 0; b < tokens.size(); ++b) {
    const std::int32_t t = tokens[b];
    const bool ok = step.active[b] ? (t == kTokenOnHost || (t >= 0 && t < spec.vocab_size)) : t == kTokenNotWanted;
    if (!ok)
      fail(Status::Internal, std::string(table_->name) + ": the plugin chose token " + std::to_string(t) +
                                 " for sequence " + std::to_string(b) + (step.active[b] ? "" : " (not active)"));
  }
  compute.progress(1.0);
  return tokens;
}

void PluginForwardEngine::log_calibration_engine() const {
  std::call_once(calibration_logged_, [&] {
    if (!blocks_) {
      log_->warn("backend " + std::string(table_->name) +
                 " has no block-by-block forward; the calibration forward runs on the CPU");
      return;
    }
    char name[256] = {0};
    char err[512] = {0};
    if (table_->device_name(state_, name, sizeof name, err, sizeof err) != GPTQ_PLUGIN_OK)
      std::snprintf(name, sizeof name, "%s", "device name unknown");
    log_->info("calibration forward on " + std::string(table_->name) + " (" + name + ")");
  });
}

std::unique_ptr<Activations> PluginForwardEngine::embed(const Compute &compute, const model::ModelSpec &spec,
                                                        const model::GlobalWeights &globals,
                                                        std::span<const std::int32_t> ids, std::int64_t batch,
                                                        std::int64_t seq) const {
  log_calibration_engine();
  std::unique_ptr<Activations> rows = cpu_.embed(compute, spec, globals, ids, batch, seq);
  if (!blocks_) return rows;
  Matrix scratch;
  const Matrix &m = rows->host(scratch);
  return std::make_unique<PluginActivations>(*table_, state_, m.rows, m.cols, &m);
}

std::unique_ptr<Activations> PluginForwardEngine::copy(const Activations &a) const {
  if (!blocks_) return cpu_.copy(a);
  const auto *p = dynamic_cast<const PluginActivations *>(&a);
  const gptq_plugin_buffer *from = p ? p->handle_in(*table_, state_) : nullptr;
  if (!from) {
    // Rows of the host (or of another state): uploaded, where run_block
    // runs them on the plugin.
    Matrix scratch;
    const Matrix &m = a.host(scratch);
    return std::make_unique<PluginActivations>(*table_, state_, m.rows, m.cols, &m);
  }
  auto made = std::make_unique<PluginActivations>(*table_, state_, a.rows(), a.cols());
  char err[512] = {0};
  check_plugin(table_->buffer_copy(state_, made->handle(), from, made->bytes(), err, sizeof err), table_->name,
               "copying activations", err);
  return made;
}

namespace {

// Memory host_pin locked, unlocked with the handle.
class PluginPinnedHost final : public PinnedHost {
 public:
  PluginPinnedHost(const gptq_backend_plugin &table, void *state, void *data)
      : table_(&table), state_(state), data_(data) {}
  ~PluginPinnedHost() override { table_->host_unpin(state_, data_); }
  PluginPinnedHost(const PluginPinnedHost &) = delete;
  PluginPinnedHost &operator=(const PluginPinnedHost &) = delete;

 private:
  const gptq_backend_plugin *table_;
  void *state_;
  void *data_;
};

}  // namespace

std::unique_ptr<PinnedHost> PluginForwardEngine::pin_host(void *data, std::size_t bytes) const {
  if (!blocks_ || !table_->host_pin || !table_->host_unpin || !data || bytes == 0) return nullptr;
  char err[512] = {0};
  if (table_->host_pin(state_, data, bytes, err, sizeof err) != GPTQ_PLUGIN_OK) {
    std::call_once(pin_refusal_logged_, [&] {
      log_->info(std::string(table_->name) + ": host memory stays pageable (" + std::to_string(bytes) +
                 " bytes could not be page-locked: " + err + ")");
    });
    return nullptr;
  }
  return std::make_unique<PluginPinnedHost>(*table_, state_, data);
}

void PluginForwardEngine::run_block(const Compute &compute, const model::ModelSpec &spec,
                                    const model::BlockWeights &w, Activations &hidden, std::int64_t batch,
                                    std::int64_t seq, const ActivationsObserver &observe) const {
  auto *p = dynamic_cast<PluginActivations *>(&hidden);
  if (blocks_ && p && p->handle_in(*table_, state_)) {
    run_block_on_plugin(compute, spec, w, *p, batch, seq, observe);
    return;
  }
  log_calibration_engine();
  cpu_.run_block(compute, spec, w, hidden, batch, seq, observe);
}

namespace {

// What the observer trampoline of one block_run works with.
struct BlockRun {
  const gptq_backend_plugin *table;
  void *state;
  gptq_plugin_block *block;
  const model::ModelSpec *spec;
  const model::BlockWeights *w;
  const ActivationsObserver *observe;
  std::string prefix;  // the block's module prefix, for messages
  // One Activations per input buffer the plugin shows, so the linears that
  // share an input see the same object (the pipeline compares addresses).
  std::vector<std::unique_ptr<PluginActivations>> inputs;
  std::exception_ptr error;  // thrown in the trampoline, rethrown after block_run
};

std::string_view linear_name(const model::BlockLayout &l, std::int32_t role) {
  switch (role) {
    case GPTQ_PLUGIN_ROLE_Q: return l.q;
    case GPTQ_PLUGIN_ROLE_K: return l.k;
    case GPTQ_PLUGIN_ROLE_V: return l.v;
    case GPTQ_PLUGIN_ROLE_O: return l.o;
    case GPTQ_PLUGIN_ROLE_GATE: return l.gate;
    case GPTQ_PLUGIN_ROLE_UP: return l.up;
    case GPTQ_PLUGIN_ROLE_DOWN: return l.down;
    default: return {};
  }
}

void set_dense(const BlockRun &run, std::int32_t role, const gptq_plugin_dense &d, const std::string &name) {
  char err[512] = {0};
  check_plugin(run.table->block_set_dense(run.state, run.block, role, &d, err, sizeof err), run.table->name,
               "uploading " + name, err);
}

// Linear `name`'s weight as it is now goes up: from the host, or from where
// the plugin already holds it (a solve's result on this state) without
// leaving the device.
void upload_linear(const BlockRun &run, std::int32_t role, std::string_view name) {
  const model::LinearWeights &lin = run.w->linear(name);
  const std::string full = run.prefix + std::string(name);
  const float *bias = lin.bias.empty() ? nullptr : lin.bias.data();
  std::vector<float> read_back;
  const std::vector<float> *weight = &lin.weight;
  if (lin.weight.empty() && lin.held) {
    if (lin.held->rows() != lin.out_features || lin.held->cols() != lin.in_features)
      fail(Status::Internal, full + ": a held weight of " + std::to_string(lin.held->rows()) + "x" +
                                 std::to_string(lin.held->cols()));
    const auto *mine = dynamic_cast<const PluginHeldMatrix *>(lin.held.get());
    const gptq_plugin_buffer *handle = mine ? mine->handle_in(*run.table, run.state) : nullptr;
    if (handle && run.table->block_set_dense_buffer) {
      char err[512] = {0};
      check_plugin(run.table->block_set_dense_buffer(run.state, run.block, role, handle, lin.out_features,
                                                     lin.in_features, bias, err, sizeof err),
                   run.table->name, "setting " + full + " from the device", err);
      return;
    }
    read_back.resize(static_cast<std::size_t>(lin.out_features) * static_cast<std::size_t>(lin.in_features));
    lin.held->read(read_back.data());
    weight = &read_back;
  }
  if (weight->empty())
    fail(Status::InvalidArgument, full + " has no float weight to run the calibration forward with");
  const gptq_plugin_dense d{lin.out_features, lin.in_features, weight->data(), bias};
  set_dense(run, role, d, full);
}

// Before each linear: the pipeline's observer (which may quantize it and
// the linears after it, or end the run there), then the linear's weight as
// it is now goes up.
int observe_linear(void *user, std::int32_t role, const gptq_plugin_buffer *input, std::int64_t rows,
                   std::int64_t cols) {
  auto &run = *static_cast<BlockRun *>(user);
  try {
    const std::string_view name = linear_name(run.spec->arch->block_layout, role);
    if (name.empty())
      fail(Status::Internal, run.prefix + ": the plugin ran linear role " + std::to_string(role) +
                                 ", which this architecture does not have");
    {
      PluginActivations *seen = nullptr;
      for (const auto &a : run.inputs)
        if (a->handle_in(*run.table, run.state) == input) seen = a.get();
      if (!seen) seen = run.inputs.emplace_back(
                                  std::make_unique<PluginActivations>(*run.table, run.state, input, rows, cols))
                            .get();
      if (seen->rows() != rows || seen->cols() != cols)
        fail(Status::Internal, run.prefix + std::string(name) + ": one input buffer shown with two shapes");
      if ((*run.observe)(name, *seen) == model::ObserverReply::kStop) return GPTQ_PLUGIN_OBSERVER_STOP;
    }
    upload_linear(run, role, name);
    return GPTQ_PLUGIN_OK;
  } catch (const Error &e) {
    run.error = std::current_exception();
    return static_cast<int>(e.status());
  } catch (...) {
    run.error = std::current_exception();
    return GPTQ_PLUGIN_ERR_INTERNAL;
  }
}

// A plugin block runner freed on every path out.
class BlockHandle {
 public:
  BlockHandle(const gptq_backend_plugin &table, void *state, const gptq_plugin_model_spec &spec)
      : table_(&table), state_(state) {
    char err[512] = {0};
    check_plugin(table.block_create(state, &spec, &handle_, err, sizeof err), table.name,
                 std::string("a block runner for ") + spec.model_type, err);
  }
  ~BlockHandle() {
    if (handle_) table_->block_free(state_, handle_);
  }
  BlockHandle(const BlockHandle &) = delete;
  BlockHandle &operator=(const BlockHandle &) = delete;
  gptq_plugin_block *get() const { return handle_; }

 private:
  const gptq_backend_plugin *table_;
  void *state_;
  gptq_plugin_block *handle_ = nullptr;
};

}  // namespace

void PluginForwardEngine::run_block_on_plugin(const Compute &compute, const model::ModelSpec &spec,
                                              const model::BlockWeights &w, PluginActivations &hidden,
                                              std::int64_t batch, std::int64_t seq,
                                              const ActivationsObserver &observe) const {
  const std::string where = "calibration forward of layer " + std::to_string(w.layer);
  if (batch <= 0 || seq <= 0 || hidden.rows() != batch * seq || hidden.cols() != spec.hidden_size)
    fail(Status::InvalidArgument, where + ": hidden is " + std::to_string(hidden.rows()) + "x" +
                                      std::to_string(hidden.cols()) + ", expected (batch " + std::to_string(batch) +
                                      " x seq " + std::to_string(seq) + ") x " + std::to_string(spec.hidden_size));
  const gptq_plugin_model_spec ps = plugin_spec(spec, model::GlobalWeights{});
  const BlockHandle block(*table_, state_, ps);
  BlockRun run{table_, state_, block.get(), &spec, &w, &observe, model::block_prefix(*spec.arch, w.layer), {}, {}};
  const model::BlockLayout &l = spec.arch->block_layout;
  for (const auto &[role, name] : {std::pair{GPTQ_PLUGIN_ROLE_ATTN_NORM, l.attn_norm},
                                   std::pair{GPTQ_PLUGIN_ROLE_MLP_NORM, l.mlp_norm}}) {
    const model::NormWeights &n = w.norm(name);
    const gptq_plugin_dense d{1, static_cast<std::int64_t>(n.weight.size()), n.weight.data(),
                              n.bias.empty() ? nullptr : n.bias.data()};
    set_dense(run, role, d, run.prefix + std::string(name));
  }
  // Without an observer every weight is final: all go up now, and the
  // plugin runs the block without stopping (nor widening inputs).
  if (!observe)
    for (const std::int32_t role : {GPTQ_PLUGIN_ROLE_Q, GPTQ_PLUGIN_ROLE_K, GPTQ_PLUGIN_ROLE_V, GPTQ_PLUGIN_ROLE_O,
                                    GPTQ_PLUGIN_ROLE_GATE, GPTQ_PLUGIN_ROLE_UP, GPTQ_PLUGIN_ROLE_DOWN})
      if (const std::string_view name = linear_name(l, role); !name.empty()) upload_linear(run, role, name);
  std::vector<float> inv_freq;
  if (spec.positions == model::PositionKind::Rope)
    inv_freq = model::rope_inv_freq(spec.rope, spec.head_dim, spec.max_position_embeddings, seq);
  char err[512] = {0};
  int rc = GPTQ_PLUGIN_OK;
  {
    // The plugin asks between linears whether the call was cancelled (and
    // the meter hands out its progress as it is asked).
    const PluginCallScope scope(compute);
    rc = table_->block_run(state_, block.get(), hidden.handle(), batch, seq,
                           inv_freq.empty() ? nullptr : inv_freq.data(), observe ? observe_linear : nullptr, &run,
                           err, sizeof err);
  }
  if (run.error) std::rethrow_exception(run.error);
  if (rc == GPTQ_PLUGIN_ERR_CANCELLED) {
    compute.poll();  // the call's own Cancelled error
    fail(Status::Cancelled, "cancelled by the progress callback during the " + where);
  }
  check_plugin(rc, table_->name, where, err);
}

}  // namespace gptq
