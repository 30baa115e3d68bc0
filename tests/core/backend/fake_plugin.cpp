// A backend plugin built in the tests (not a GPU backend): exports the v3
// entry symbol and behaves as $GPTQ_FAKE_PLUGIN_MODE says, so the loader,
// the status mapping and the CPU fallback are exercised on any machine.
//   oom:      open fails with GPTQ_PLUGIN_ERR_OUT_OF_MEMORY and a message;
//   ok:       one device that opens (logging through the host), passes its
//             self-test and reports memory; every engine entry NULL;
//   bad:      self_test returns a status outside the list (42);
//   forward:  as ok, plus the forward group: a "model" that checks and
//             counts what the core hands it (logged at model_finish), a KV
//             cache that is out of memory above 4096 positions, and a run
//             whose logits are one-hot at (input id + 1) mod vocab.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/backend/backend_plugin.h"

namespace {

const char *mode() {
  const char *m = std::getenv("GPTQ_FAKE_PLUGIN_MODE");
  return m ? m : "ok";
}

void reason(char *err, size_t cap, const char *text) { std::snprintf(err, cap, "%s", text); }

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

struct FakeModel {
  gptq_plugin_model_spec spec{};
  std::string type;
  int dense = 0, gptq = 0, bits = 0;
};

struct FakeCache {
  int64_t batch = 0, capacity = 0, length = 0;
};

const gptq_backend_host *host_of(void *state) { return static_cast<const gptq_backend_host *>(state); }

int model_begin(void *, const gptq_plugin_model_spec *spec, gptq_plugin_model **out, char *err, size_t cap) {
  if (spec->size != sizeof(gptq_plugin_model_spec)) {
    reason(err, cap, "spec of another size");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  auto *m = new FakeModel;
  m->spec = *spec;
  m->type = spec->model_type;
  *out = reinterpret_cast<gptq_plugin_model *>(m);
  return GPTQ_PLUGIN_OK;
}

int model_set_dense(void *, gptq_plugin_model *model, int32_t, int32_t, const gptq_plugin_dense *t, char *err,
                    size_t cap) {
  // Touch both ends: a sanitized build catches an array shorter than said.
  volatile float ends = t->weight[0] + t->weight[t->rows * t->cols - 1];
  (void)ends;
  if (t->rows <= 0 || t->cols <= 0) {
    reason(err, cap, "empty tensor");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  ++reinterpret_cast<FakeModel *>(model)->dense;
  return GPTQ_PLUGIN_OK;
}

int model_set_gptq(void *, gptq_plugin_model *model, int32_t, int32_t, const gptq_plugin_gptq_linear *l, char *err,
                   size_t cap) {
  const int64_t last = l->out_features * l->in_features - 1, cells = l->groups * l->out_features - 1;
  if (l->codes[last] >= (1 << l->bits) || l->g_idx[l->in_features - 1] >= l->groups || l->zeros[cells] < 0 ||
      !(l->scales[cells] > 0.0f)) {
    reason(err, cap, "GPTQ linear out of range");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  auto *m = reinterpret_cast<FakeModel *>(model);
  ++m->gptq;
  m->bits = l->bits;
  return GPTQ_PLUGIN_OK;
}

int model_finish(void *state, gptq_plugin_model *model, char *, size_t) {
  const auto *m = reinterpret_cast<FakeModel *>(model);
  const std::string line = "fake model " + m->type + ": " + std::to_string(m->spec.num_layers) + " layers, " +
                           std::to_string(m->dense) + " dense tensors, " + std::to_string(m->gptq) +
                           " GPTQ linears of " + std::to_string(m->bits) + " bits";
  host_of(state)->log(host_of(state)->user, 3, line.c_str());
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
  *out = reinterpret_cast<gptq_plugin_cache *>(new FakeCache{batch, capacity, 0});
  return GPTQ_PLUGIN_OK;
}

void cache_free(void *, gptq_plugin_cache *cache) { delete reinterpret_cast<FakeCache *>(cache); }

int model_run(void *, const gptq_plugin_model *model, const int32_t *ids, int64_t batch, int64_t seq,
              gptq_plugin_cache *cache, int last_only, const float *inv_freq, float *logits, char *err,
              size_t cap) {
  const auto *m = reinterpret_cast<const FakeModel *>(model);
  // RoPE's first inverse frequency is theta^0 = 1 for every rope type but
  // linear/llama3 scaling, which the demo model does not use.
  if ((m->spec.positions == GPTQ_PLUGIN_POSITIONS_ROPE) != (inv_freq != nullptr) || (inv_freq && inv_freq[0] != 1.0f)) {
    reason(err, cap, "RoPE frequencies missing or wrong");
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
  auto *c = reinterpret_cast<FakeCache *>(cache);
  if (c && (c->batch != batch || c->length + seq > c->capacity)) {
    reason(err, cap, "the core let a run past the cache through");
    return GPTQ_PLUGIN_ERR_INTERNAL;
  }
  const int64_t vocab = m->spec.vocab_size, rows = last_only ? batch : batch * seq;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t id = ids[last_only ? r * seq + seq - 1 : r];
    for (int64_t v = 0; v < vocab; ++v) logits[r * vocab + v] = v == (id + 1) % vocab ? 1.0f : 0.0f;
  }
  if (c) c->length += seq;
  return GPTQ_PLUGIN_OK;
}

gptq_backend_plugin make_table(bool forward) {
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
  }
  return t;
}

// The library stays loaded between tests: the entry picks the table by the
// mode at each load (the loader calls it every time it opens a context).
const gptq_backend_plugin kTable = make_table(false);
const gptq_backend_plugin kForwardTable = make_table(true);

}  // namespace

extern "C" __attribute__((visibility("default"))) const gptq_backend_plugin *gptq_backend_plugin_v3(void) {
  return std::strcmp(mode(), "forward") == 0 ? &kForwardTable : &kTable;
}
