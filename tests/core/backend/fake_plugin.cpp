// A backend plugin built in the tests (not a GPU backend): exports the v8
// entry symbol and behaves as $GPTQ_FAKE_PLUGIN_MODE says, so the loader,
// the status mapping and the CPU fallback are exercised on any machine.
//   oom:      open fails with GPTQ_PLUGIN_ERR_OUT_OF_MEMORY and a message;
//   ok:       one device that opens (logging through the host), passes its
//             self-test and reports memory; every engine entry NULL;
//   bad:      self_test returns a status outside the list (42);
//   forward_begin_fails: (switched to on a plugin opened as forward) model_begin
//             is out of memory;
//   forward:  as ok, plus the forward group: a "model" that checks and
//             counts what the core hands it (logged at model_finish), a KV
//             cache that is out of memory above 4096 positions and keeps
//             each sequence's length, and a run whose logits are one-hot at
//             (input id + 1) mod vocab, the input being each sequence's last
//             valid id with last_only; and a token choice (model_run_sample)
//             that gives even sequences floor(u * vocab) of their number u
//             and leaves odd ones to the host with their row;
//   blocks:   as forward, plus buffers in host memory and the block group: a
//             run shows each linear an input buffer (one per distinct input,
//             filled with the input's number + 1), refuses a linear whose
//             weight was not set for the run, and adds the sum of every
//             linear's weight as set when it runs to each hidden value, so
//             a test sees which weights ran; its buffers are counted as
//             device memory (memory_use: live, peak, allocations) and the
//             test hook inject_failure makes the nth buffer_alloc out of
//             memory, as cuda/device_memory.h does for the CUDA plugin.
//   quantize: as blocks, plus the quantize group and block_set_dense_buffer:
//             the run's inputs are (number + 1 + the hidden state's first
//             value), a Hessian is 2/n sum x[r][0]^2 times the identity, and
//             a solve rounds w to the grid of step 1/16 around the middle
//             code (loss weighted by that Hessian), its dequantized weights
//             to the host or to the buffer the core gives, logging which
//             ("fake solve: dequant to host" / "... to buffer"), and its
//             time as its factoring; block_set_dense_buffer logs each call
//             ("fake block: a linear set from a buffer").
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/backend/backend_plugin.h"

namespace {

const char *mode() {
  const char *m = std::getenv("GPTQ_FAKE_PLUGIN_MODE");
  return m ? m : "ok";
}

void reason(char *err, size_t cap, const char *text) { std::snprintf(err, cap, "%s", text); }

// The blocks mode's device memory: its buffers (one state at a time: open
// starts it afresh).
struct FakeAccount {
  uint64_t live = 0, peak = 0, allocations = 0;
  int64_t fail_in = 0;  // inject_failure's countdown; 0: disarmed
} account;

int device_count(int *count, char *, size_t) {
  *count = 1;
  return GPTQ_PLUGIN_OK;
}

int open(int, const gptq_backend_host *host, void **state, char *err, size_t cap) {
  if (std::strcmp(mode(), "oom") == 0) {
    reason(err, cap, "fake device: 3221225472 bytes of workspace requested, 1073741824 free");
    return GPTQ_PLUGIN_ERR_OUT_OF_MEMORY;
  }
  if (!host || host->size != sizeof(gptq_backend_host) || !host->log || !host->cancelled) {
    reason(err, cap, "no host services");
    return GPTQ_PLUGIN_ERR_INTERNAL;
  }
  host->log(host->user, 2, "fake device opened");
  account = {};
  *state = const_cast<gptq_backend_host *>(host);
  return GPTQ_PLUGIN_OK;
}

void close(void *) {}

int device_name(void *, char *buf, size_t buf_cap, char *, size_t) {
  std::snprintf(buf, buf_cap, "%s", "Fake Device");
  return GPTQ_PLUGIN_OK;
}

int self_test(void *, char *err, size_t cap) {
  if (std::strcmp(mode(), "bad") == 0) {
    reason(err, cap, "fake self-test says no");
    return 42;
  }
  return GPTQ_PLUGIN_OK;
}

int memory_info(void *, uint64_t *free_bytes, uint64_t *total_bytes, char *, size_t) {
  *free_bytes = 1ull << 30;
  *total_bytes = 2ull << 30;
  return GPTQ_PLUGIN_OK;
}

// The core may set a model's tensors from several threads at once.
struct FakeModel {
  gptq_plugin_model_spec spec{};
  std::string type;
  std::atomic<int> dense{0}, gptq{0}, bits{0};
  // Every tensor's (layer, role, values) hashed, summed: the same whatever
  // order and threads they come in.
  std::atomic<std::uint64_t> contents{0};
};

// FNV-1a of `bytes` bytes, seeded with the tensor's place.
std::uint64_t fnv(std::uint64_t h, const void *data, std::size_t bytes) {
  const auto *p = static_cast<const unsigned char *>(data);
  for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::uint64_t place(int32_t layer, int32_t role) {
  return 14695981039346656037ull ^ (static_cast<std::uint64_t>(static_cast<std::uint32_t>(layer)) << 32 |
                                    static_cast<std::uint32_t>(role));
}

struct FakeCache {
  int64_t batch = 0, capacity = 0;
  std::vector<int64_t> lengths;  // [batch]
};

const gptq_backend_host *host_of(void *state) { return static_cast<const gptq_backend_host *>(state); }

int model_begin(void *, const gptq_plugin_model_spec *spec, gptq_plugin_model **out, char *err, size_t cap) {
  if (spec->size != sizeof(gptq_plugin_model_spec)) {
    reason(err, cap, "spec of another size");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  // Read at each call: a test switches to it on a plugin opened as forward.
  if (std::strcmp(mode(), "forward_begin_fails") == 0) {
    reason(err, cap, "the fake device refuses the model");
    return GPTQ_PLUGIN_ERR_OUT_OF_MEMORY;
  }
  auto *m = new FakeModel;
  m->spec = *spec;
  m->type = spec->model_type;
  *out = reinterpret_cast<gptq_plugin_model *>(m);
  return GPTQ_PLUGIN_OK;
}

int model_set_dense(void *, gptq_plugin_model *model, int32_t layer, int32_t role, const gptq_plugin_dense *t,
                    char *err, size_t cap) {
  // Touch both ends: a sanitized build catches an array shorter than said.
  volatile float ends = t->weight[0] + t->weight[t->rows * t->cols - 1];
  (void)ends;
  if (t->rows <= 0 || t->cols <= 0) {
    reason(err, cap, "empty tensor");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  auto *m = reinterpret_cast<FakeModel *>(model);
  ++m->dense;
  const auto n = static_cast<std::size_t>(t->rows * t->cols);
  std::uint64_t h = fnv(place(layer, role), t->weight, n * sizeof(float));
  if (t->bias) h = fnv(h, t->bias, static_cast<std::size_t>(t->rows) * sizeof(float));
  m->contents += h;
  return GPTQ_PLUGIN_OK;
}

int model_set_gptq(void *, gptq_plugin_model *model, int32_t layer, int32_t role, const gptq_plugin_gptq_linear *l,
                   char *err, size_t cap) {
  const int64_t last = l->out_features * l->in_features - 1, cells = l->groups * l->out_features - 1;
  if (l->codes[last] >= (1 << l->bits) || l->g_idx[l->in_features - 1] >= l->groups || l->zeros[cells] < 0 ||
      !(l->scales[cells] > 0.0f)) {
    reason(err, cap, "GPTQ linear out of range");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  auto *m = reinterpret_cast<FakeModel *>(model);
  ++m->gptq;
  m->bits = l->bits;
  const auto nk = static_cast<std::size_t>(l->out_features * l->in_features);
  const auto gn = static_cast<std::size_t>(l->groups * l->out_features);
  std::uint64_t h = fnv(place(layer, role), l->codes, nk);
  h = fnv(h, l->zeros, gn * sizeof(int32_t));
  h = fnv(h, l->scales, gn * sizeof(float));
  h = fnv(h, l->g_idx, static_cast<std::size_t>(l->in_features) * sizeof(int32_t));
  if (l->bias) h = fnv(h, l->bias, static_cast<std::size_t>(l->out_features) * sizeof(float));
  m->contents += h;
  return GPTQ_PLUGIN_OK;
}

int model_finish(void *state, gptq_plugin_model *model, char *, size_t) {
  const auto *m = reinterpret_cast<FakeModel *>(model);
  const std::string line = "fake model " + m->type + ": " + std::to_string(m->spec.num_layers) + " layers, " +
                           std::to_string(m->dense) + " dense tensors, " + std::to_string(m->gptq) +
                           " GPTQ linears of " + std::to_string(m->bits) + " bits";
  host_of(state)->log(host_of(state)->user, 3, line.c_str());
  const std::string contents = "fake model contents " + std::to_string(m->contents.load());
  host_of(state)->log(host_of(state)->user, 3, contents.c_str());
  return GPTQ_PLUGIN_OK;
}

void model_free(void *, gptq_plugin_model *model) { delete reinterpret_cast<FakeModel *>(model); }

int cache_create(void *, const gptq_plugin_model *, int64_t batch, int64_t capacity, gptq_plugin_cache **out,
                 char *err, size_t cap) {
  if (capacity > 4096) {
    std::snprintf(err, cap, "fake device: KV cache of %lld bytes asked, 1073741824 free",
                  static_cast<long long>(capacity) * batch * 1024);
    return GPTQ_PLUGIN_ERR_OUT_OF_MEMORY;
  }
  *out = reinterpret_cast<gptq_plugin_cache *>(
      new FakeCache{batch, capacity, std::vector<int64_t>(static_cast<std::size_t>(batch), 0)});
  return GPTQ_PLUGIN_OK;
}

void cache_free(void *, gptq_plugin_cache *cache) { delete reinterpret_cast<FakeCache *>(cache); }

int model_run(void *, const gptq_plugin_model *model, const int32_t *ids, int64_t batch, int64_t seq,
              const int64_t *counts, gptq_plugin_cache *cache, int last_only, const float *inv_freq, float *logits,
              char *err, size_t cap) {
  const auto *m = reinterpret_cast<const FakeModel *>(model);
  // RoPE's first inverse frequency is theta^0 = 1 for every rope type but
  // linear/llama3 scaling, which the demo model does not use.
  if ((m->spec.positions == GPTQ_PLUGIN_POSITIONS_ROPE) != (inv_freq != nullptr) || (inv_freq && inv_freq[0] != 1.0f)) {
    reason(err, cap, "RoPE frequencies missing or wrong");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  auto *c = reinterpret_cast<FakeCache *>(cache);
  bool fits = !c || c->batch == batch;
  for (int64_t b = 0; b < batch; ++b)
    fits = fits && counts[b] >= 0 && counts[b] <= seq &&
           (!c || c->lengths[static_cast<std::size_t>(b)] + seq <= c->capacity);
  if (!fits) {
    reason(err, cap, "the core let a run past the cache (or with bad counts) through");
    return GPTQ_PLUGIN_ERR_INTERNAL;
  }
  const int64_t vocab = m->spec.vocab_size, rows = last_only ? batch : batch * seq;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t id = ids[last_only ? r * seq + std::max<int64_t>(counts[r], 1) - 1 : r];
    for (int64_t v = 0; v < vocab; ++v) logits[r * vocab + v] = v == (id + 1) % vocab ? 1.0f : 0.0f;
  }
  if (c)
    for (int64_t b = 0; b < batch; ++b) c->lengths[static_cast<std::size_t>(b)] += counts[b];
  return GPTQ_PLUGIN_OK;
}

// model_run, then for each active sequence of even index the "device's"
// token floor(u * vocab) of its uniform u (so a test sees which number
// reached which sequence), for odd ones its one-hot row left to the host; a
// penalty must come with seen offsets that hold each sequence's ids.
int model_run_sample(void *state, const gptq_plugin_model *model, const int32_t *ids, int64_t batch, int64_t seq,
                     const int64_t *counts, gptq_plugin_cache *cache, const float *inv_freq,
                     const gptq_plugin_sampling *step, int32_t *tokens, float *logits, char *err, size_t cap) {
  if (!cache || !step || step->size != sizeof(gptq_plugin_sampling) || !step->active || !step->uniforms) {
    reason(err, cap, "model_run_sample without a cache or a whole step");
    return GPTQ_PLUGIN_ERR_INTERNAL;
  }
  if (step->repetition_penalty != 1.0 && (!step->seen_offsets || step->seen_offsets[0] != 0)) {
    reason(err, cap, "a penalty without the seen tokens");
    return GPTQ_PLUGIN_ERR_INTERNAL;
  }
  const int64_t vocab = reinterpret_cast<const FakeModel *>(model)->spec.vocab_size;
  std::vector<float> rows(static_cast<std::size_t>(batch * vocab));
  const int rc = model_run(state, model, ids, batch, seq, counts, cache, 1, inv_freq, rows.data(), err, cap);
  if (rc != GPTQ_PLUGIN_OK) return rc;
  for (int64_t b = 0; b < batch; ++b) {
    if (!step->active[b]) {
      tokens[b] = GPTQ_PLUGIN_TOKEN_NOT_WANTED;
    } else if (b % 2 == 0) {
      tokens[b] = static_cast<int32_t>(std::floor(step->uniforms[b] * static_cast<double>(vocab)));
    } else {
      tokens[b] = GPTQ_PLUGIN_TOKEN_ON_HOST;
      std::copy(rows.begin() + b * vocab, rows.begin() + (b + 1) * vocab, logits + b * vocab);
    }
  }
  return GPTQ_PLUGIN_OK;
}

// Buffers in host memory.
struct FakeBuffer {
  std::vector<unsigned char> bytes;
};
FakeBuffer &buf(gptq_plugin_buffer *b) { return *reinterpret_cast<FakeBuffer *>(b); }
const FakeBuffer &buf(const gptq_plugin_buffer *b) { return *reinterpret_cast<const FakeBuffer *>(b); }

int buffer_alloc(void *, size_t bytes, gptq_plugin_buffer **out, char *err, size_t cap) {
  ++account.allocations;
  if (account.fail_in > 0 && --account.fail_in == 0) {
    std::snprintf(err, cap, "fake device: out of device memory for a buffer of activations: %zu bytes asked", bytes);
    return GPTQ_PLUGIN_ERR_OUT_OF_MEMORY;
  }
  *out = reinterpret_cast<gptq_plugin_buffer *>(new FakeBuffer{std::vector<unsigned char>(bytes)});
  account.live += bytes;
  if (account.live > account.peak) account.peak = account.live;
  return GPTQ_PLUGIN_OK;
}
void buffer_free(void *, gptq_plugin_buffer *b) {
  account.live -= buf(b).bytes.size();
  delete &buf(b);
}
int memory_use(void *, uint64_t *live, uint64_t *peak, uint64_t *allocations, int reset_peak, char *, size_t) {
  *live = account.live;
  *peak = account.peak;
  *allocations = account.allocations;
  if (reset_peak) account.peak = account.live;
  return GPTQ_PLUGIN_OK;
}
int inject_failure(void *, int32_t kind, int64_t nth, char *err, size_t cap) {
  if (kind != GPTQ_PLUGIN_FAIL_ALLOCATION || nth < 0) {
    std::snprintf(err, cap, "fake device: no failure of kind %d at %lld to inject", static_cast<int>(kind),
                  static_cast<long long>(nth));
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  account.fail_in = nth;
  return GPTQ_PLUGIN_OK;
}
int buffer_write(void *, gptq_plugin_buffer *dst, size_t offset, const void *src, size_t bytes, char *err,
                 size_t cap) {
  if (offset + bytes > buf(dst).bytes.size()) {
    reason(err, cap, "buffer_write past the end");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  std::memcpy(buf(dst).bytes.data() + offset, src, bytes);
  return GPTQ_PLUGIN_OK;
}
int buffer_read(void *, const gptq_plugin_buffer *src, size_t offset, void *dst, size_t bytes, char *err,
                size_t cap) {
  if (offset + bytes > buf(src).bytes.size()) {
    reason(err, cap, "buffer_read past the end");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  std::memcpy(dst, buf(src).bytes.data() + offset, bytes);
  return GPTQ_PLUGIN_OK;
}
int buffer_copy(void *, gptq_plugin_buffer *dst, const gptq_plugin_buffer *src, size_t bytes, char *err,
                size_t cap) {
  if (bytes > buf(src).bytes.size() || bytes > buf(dst).bytes.size()) {
    reason(err, cap, "buffer_copy past the end");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  std::memcpy(buf(dst).bytes.data(), buf(src).bytes.data(), bytes);
  return GPTQ_PLUGIN_OK;
}

struct FakeBlock {
  gptq_plugin_model_spec spec{};
  bool norms[2] = {false, false};
  bool set[7] = {false, false, false, false, false, false, false};  // by role - Q
  double sums[7] = {0, 0, 0, 0, 0, 0, 0};
};

int block_create(void *, const gptq_plugin_model_spec *spec, gptq_plugin_block **out, char *err, size_t cap) {
  if (spec->size != sizeof(gptq_plugin_model_spec)) {
    reason(err, cap, "spec of another size");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  auto *b = new FakeBlock;
  b->spec = *spec;
  *out = reinterpret_cast<gptq_plugin_block *>(b);
  return GPTQ_PLUGIN_OK;
}
void block_free(void *, gptq_plugin_block *b) { delete reinterpret_cast<FakeBlock *>(b); }

int block_set_dense(void *, gptq_plugin_block *block, int32_t role, const gptq_plugin_dense *t, char *err,
                    size_t cap) {
  auto *b = reinterpret_cast<FakeBlock *>(block);
  if (role == GPTQ_PLUGIN_ROLE_ATTN_NORM || role == GPTQ_PLUGIN_ROLE_MLP_NORM) {
    if (t->rows != 1 || t->cols != b->spec.hidden_size) {
      reason(err, cap, "a norm of the wrong width");
      return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
    }
    b->norms[role] = true;
    return GPTQ_PLUGIN_OK;
  }
  if (role < GPTQ_PLUGIN_ROLE_Q || role > GPTQ_PLUGIN_ROLE_DOWN) {
    reason(err, cap, "not a block role");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  double sum = 0;
  for (int64_t i = 0; i < t->rows * t->cols; ++i) sum += t->weight[i];
  b->set[role - GPTQ_PLUGIN_ROLE_Q] = true;
  b->sums[role - GPTQ_PLUGIN_ROLE_Q] = sum;
  return GPTQ_PLUGIN_OK;
}

int block_run(void *state, gptq_plugin_block *block, gptq_plugin_buffer *hidden, int64_t batch, int64_t seq,
              const float *, gptq_plugin_observer_fn observe, void *user, char *err, size_t cap) {
  auto *b = reinterpret_cast<FakeBlock *>(block);
  const gptq_plugin_model_spec &s = b->spec;
  struct Forget {
    FakeBlock *b;
    ~Forget() { *b = FakeBlock{b->spec, {false, false}, {}, {}}; }
  } forget{b};
  const int64_t rows = batch * seq;
  if (!b->norms[0] || !b->norms[1]) {
    reason(err, cap, "norms not set");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  if (buf(hidden).bytes.size() < static_cast<size_t>(rows * s.hidden_size) * sizeof(float)) {
    reason(err, cap, "hidden too small");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  const int64_t widths[4] = {s.hidden_size, s.num_heads * s.head_dim, s.hidden_size, s.intermediate_size};
  // In quantize mode the inputs follow the hidden state, so what later
  // layers' Hessians see depends on the weights that ran before.
  const float base =
      std::strcmp(mode(), "quantize") == 0 ? reinterpret_cast<const float *>(buf(hidden).bytes.data())[0] : 0.0f;
  std::vector<float> inputs[4];
  for (int g = 0; g < 4; ++g) inputs[g].assign(static_cast<size_t>(rows * widths[g]), static_cast<float>(g + 1) + base);
  FakeBuffer views[4];
  const int32_t order[] = {GPTQ_PLUGIN_ROLE_Q, GPTQ_PLUGIN_ROLE_K,    GPTQ_PLUGIN_ROLE_V,  GPTQ_PLUGIN_ROLE_O,
                           GPTQ_PLUGIN_ROLE_GATE, GPTQ_PLUGIN_ROLE_UP, GPTQ_PLUGIN_ROLE_DOWN};
  double added = 0;
  for (const int32_t role : order) {
    if (role == GPTQ_PLUGIN_ROLE_GATE && !s.gated_mlp) continue;
    const int g = role <= GPTQ_PLUGIN_ROLE_V ? 0 : role == GPTQ_PLUGIN_ROLE_O ? 1 : role == GPTQ_PLUGIN_ROLE_DOWN ? 3 : 2;
    if (host_of(state)->cancelled(host_of(state)->user)) {
      reason(err, cap, "cancelled between linears");
      return GPTQ_PLUGIN_ERR_CANCELLED;
    }
    if (observe) {
      views[g].bytes.assign(reinterpret_cast<unsigned char *>(inputs[g].data()),
                            reinterpret_cast<unsigned char *>(inputs[g].data() + inputs[g].size()));
      const int rc = observe(user, role, reinterpret_cast<const gptq_plugin_buffer *>(&views[g]), rows, widths[g]);
      if (rc == GPTQ_PLUGIN_OBSERVER_STOP) {
        // Nothing more is wanted: hidden is undefined, here NaN, so a caller
        // that used it anyway would show it.
        auto *h = reinterpret_cast<float *>(buf(hidden).bytes.data());
        std::fill(h, h + rows * s.hidden_size, std::numeric_limits<float>::quiet_NaN());
        return GPTQ_PLUGIN_OK;
      }
      if (rc != GPTQ_PLUGIN_OK) {
        reason(err, cap, "the observer stopped the run");
        return rc;
      }
    }
    if (!b->set[role - GPTQ_PLUGIN_ROLE_Q]) {
      std::snprintf(err, cap, "the weight of role %d was not set for this run", role);
      return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
    }
    added += b->sums[role - GPTQ_PLUGIN_ROLE_Q];
  }
  auto *h = reinterpret_cast<float *>(buf(hidden).bytes.data());
  for (int64_t i = 0; i < rows * s.hidden_size; ++i) h[i] += static_cast<float>(added);
  return GPTQ_PLUGIN_OK;
}

// A linear's weight from a buffer: as block_set_dense.
int block_set_dense_buffer(void *state, gptq_plugin_block *block, int32_t role, const gptq_plugin_buffer *weight,
                           int64_t rows, int64_t cols, const float *bias, char *err, size_t cap) {
  if (role < GPTQ_PLUGIN_ROLE_Q || role > GPTQ_PLUGIN_ROLE_DOWN) {
    reason(err, cap, "block_set_dense_buffer: not a linear");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  if (buf(weight).bytes.size() < static_cast<size_t>(rows * cols) * sizeof(float)) {
    reason(err, cap, "block_set_dense_buffer: the buffer is too small");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  const gptq_plugin_dense d{rows, cols, reinterpret_cast<const float *>(buf(weight).bytes.data()), bias};
  host_of(state)->log(host_of(state)->user, 4, "fake block: a linear set from a buffer");
  return block_set_dense(state, block, role, &d, err, cap);
}

struct FakeHessian {
  int64_t columns = 0;
  double sum = 0;  // of x[r][0]^2
  int64_t samples = 0;
  bool finished = false;
  double diag = 0;
};
FakeHessian &hess(gptq_plugin_hessian *h) { return *reinterpret_cast<FakeHessian *>(h); }
const FakeHessian &hess(const gptq_plugin_hessian *h) { return *reinterpret_cast<const FakeHessian *>(h); }

int hessian_create(void *, int64_t columns, int, gptq_plugin_hessian **out, char *, size_t) {
  *out = reinterpret_cast<gptq_plugin_hessian *>(new FakeHessian{columns});
  return GPTQ_PLUGIN_OK;
}
void hessian_free(void *, gptq_plugin_hessian *h) { delete &hess(h); }
int hessian_accumulate(void *, gptq_plugin_hessian *h, const gptq_plugin_buffer *x, int64_t rows, int64_t samples,
                       char *err, size_t cap) {
  FakeHessian &f = hess(h);
  if (f.finished || buf(x).bytes.size() < static_cast<size_t>(rows * f.columns) * sizeof(float)) {
    reason(err, cap, "hessian_accumulate: finished, or rows past the buffer");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  const auto *v = reinterpret_cast<const float *>(buf(x).bytes.data());
  for (int64_t r = 0; r < rows; ++r) f.sum += static_cast<double>(v[r * f.columns]) * v[r * f.columns];
  f.samples += samples < 0 ? rows : samples;
  return GPTQ_PLUGIN_OK;
}
int hessian_finish(void *, gptq_plugin_hessian *h, char *, size_t) {
  FakeHessian &f = hess(h);
  f.diag = f.samples > 0 ? 2.0 * f.sum / static_cast<double>(f.samples) : 0.0;
  f.finished = true;
  return GPTQ_PLUGIN_OK;
}
int hessian_write(void *, gptq_plugin_hessian *h, const float *src, char *, size_t) {
  hess(h).diag = src[0];
  hess(h).finished = true;
  return GPTQ_PLUGIN_OK;
}
int hessian_read(void *, const gptq_plugin_hessian *h, float *dst, char *, size_t) {
  const FakeHessian &f = hess(h);
  for (int64_t i = 0; i < f.columns * f.columns; ++i) dst[i] = i % (f.columns + 1) == 0 ? static_cast<float>(f.diag) : 0.0f;
  return GPTQ_PLUGIN_OK;
}

int quantize_solve(void *state, const gptq_plugin_hessian *h, const float *w, int64_t rows, int64_t cols,
                   const gptq_plugin_quant_options *o, gptq_plugin_quant_result *out, char *err, size_t cap) {
  const auto t0 = std::chrono::steady_clock::now();
  const FakeHessian &f = hess(h);
  if (!f.finished || f.columns != cols || (out->dequant == nullptr) == (out->dequant_buffer == nullptr)) {
    reason(err, cap, "quantize_solve: H not finished or of another size, or not exactly one dequant destination");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  if (out->dequant_buffer && buf(out->dequant_buffer).bytes.size() < static_cast<size_t>(rows * cols) * sizeof(float)) {
    reason(err, cap, "quantize_solve: dequant_buffer too small");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  float *dq = out->dequant ? out->dequant : reinterpret_cast<float *>(buf(out->dequant_buffer).bytes.data());
  const int32_t zero = 1 << (o->bits - 1), maxq = (1 << o->bits) - 1;
  const int64_t groups = o->group_size > 0 ? cols / o->group_size : 1;
  double loss = 0;
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t k = 0; k < cols; ++k) {
      const int64_t i = n * cols + k;
      const auto code = static_cast<int32_t>(std::clamp<long>(std::lround(w[i] * 16.0f) + zero, 0, maxq));
      out->codes[i] = static_cast<uint8_t>(code);
      dq[i] = static_cast<float>(code - zero) / 16.0f;
      loss += (static_cast<double>(w[i]) - dq[i]) * (static_cast<double>(w[i]) - dq[i]) * f.diag / 2.0;
    }
  for (int64_t i = 0; i < groups * rows; ++i) {
    out->scales[i] = 1.0f / 16.0f;
    out->zeros[i] = zero;
  }
  for (int64_t k = 0; k < cols; ++k) {
    out->g_idx[k] = static_cast<int32_t>(o->group_size > 0 ? k / o->group_size : 0);
    if (o->desc_act) out->perm[k] = static_cast<int32_t>(k);
  }
  out->loss = loss;
  out->damp_percent = o->damp_percent;
  out->factor_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  host_of(state)->log(host_of(state)->user, 4, out->dequant ? "fake solve: dequant to host" : "fake solve: dequant to buffer");
  return GPTQ_PLUGIN_OK;
}

// Pins nothing for real: says what it was asked in the log, and refuses
// more than 1 GiB (a system that will not lock that much).
int host_pin(void *state, void *ptr, size_t bytes, char *err, size_t cap) {
  if (bytes > (size_t{1} << 30)) {
    reason(err, cap, "the fake locks at most 1 GiB");
    return GPTQ_PLUGIN_ERR_OUT_OF_MEMORY;
  }
  const std::string line = "fake pin " + std::to_string(bytes) + " bytes at " + std::to_string(reinterpret_cast<uintptr_t>(ptr));
  host_of(state)->log(host_of(state)->user, 4, line.c_str());
  return GPTQ_PLUGIN_OK;
}

void host_unpin(void *state, void *ptr) {
  const std::string line = "fake unpin " + std::to_string(reinterpret_cast<uintptr_t>(ptr));
  host_of(state)->log(host_of(state)->user, 4, line.c_str());
}

gptq_backend_plugin make_table(bool forward, bool blocks = false, bool quantize = false) {
  gptq_backend_plugin t{};
  t.size = sizeof t;
  t.version = GPTQ_BACKEND_PLUGIN_VERSION;
  t.name = "cuda";
  t.device_count = device_count;
  t.open = open;
  t.close = close;
  t.device_name = device_name;
  t.self_test = self_test;
  t.memory_info = memory_info;
  if (forward) {
    t.model_begin = model_begin;
    t.model_set_dense = model_set_dense;
    t.model_set_gptq = model_set_gptq;
    t.model_finish = model_finish;
    t.model_free = model_free;
    t.cache_create = cache_create;
    t.cache_free = cache_free;
    t.model_run = model_run;
    t.model_run_sample = model_run_sample;
  }
  if (blocks) {
    t.buffer_alloc = buffer_alloc;
    t.buffer_free = buffer_free;
    t.buffer_write = buffer_write;
    t.buffer_read = buffer_read;
    t.buffer_copy = buffer_copy;
    t.block_create = block_create;
    t.block_free = block_free;
    t.block_set_dense = block_set_dense;
    t.block_run = block_run;
    t.memory_use = memory_use;
    t.inject_failure = inject_failure;
    t.host_pin = host_pin;
    t.host_unpin = host_unpin;
  }
  if (quantize) {
    t.hessian_create = hessian_create;
    t.hessian_free = hessian_free;
    t.hessian_accumulate = hessian_accumulate;
    t.hessian_finish = hessian_finish;
    t.quantize_solve = quantize_solve;
    t.hessian_write = hessian_write;
    t.hessian_read = hessian_read;
    t.block_set_dense_buffer = block_set_dense_buffer;
  }
  return t;
}

// The library stays loaded between tests: the entry picks the table by the
// mode at each load (the loader calls it every time it opens a context).
const gptq_backend_plugin kTable = make_table(false);
const gptq_backend_plugin kForwardTable = make_table(true);
const gptq_backend_plugin kBlocksTable = make_table(true, true);
const gptq_backend_plugin kQuantizeTable = make_table(true, true, true);

}  // namespace

extern "C" __attribute__((visibility("default"))) const gptq_backend_plugin *gptq_backend_plugin_v8(void) {
  if (std::strcmp(mode(), "blocks") == 0) return &kBlocksTable;
  if (std::strcmp(mode(), "quantize") == 0) return &kQuantizeTable;
  return std::strcmp(mode(), "forward") == 0 ? &kForwardTable : &kTable;
}
