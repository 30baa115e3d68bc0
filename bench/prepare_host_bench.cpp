// The host side of preparing a GPTQ model for the CUDA runtime (issue 15's
// load time), on a machine without a GPU: what PluginForwardEngine::prepare
// costs before anything reaches the device.
//   serial: block by block on one thread, as prepare ran before it used the
//           context's threads: load_block_weights (read the memory-mapped
//           checkpoint, unpack qweight/qzeros/scales/g_idx) then the CUDA
//           kernels' repack_gptq of each linear, each timed;
//   prepare: the forward engine's prepare itself, on a pool of each thread
//           count asked, through a plugin table whose model_set_gptq runs the
//           same repack_gptq and keeps nothing (no device: no upload), so the
//           time is the read, unpack and repack as prepare schedules them.
// Every figure is per block (the whole time / layers); the page cache is
// whatever the previous run left (run it twice for warm figures).
//
// Usage: prepare_host_bench MODEL_DIR [THREADS...]   (default: 1 2)
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "core/backend/backend_plugin.h"
#include "core/backend/plugin_forward_engine.h"
#include "core/base/log.h"
#include "core/cpu/compute.h"
#include "core/model/block_weights.h"
#include "core/model/model.h"
#include "cuda/kernels/gptq_repack.h"

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::atomic<std::int64_t> repacked{0};

int ok(char *, size_t) { return GPTQ_PLUGIN_OK; }

int model_begin(void *, const gptq_plugin_model_spec *, gptq_plugin_model **out, char *, size_t) {
  static int model = 0;
  *out = reinterpret_cast<gptq_plugin_model *>(&model);
  return GPTQ_PLUGIN_OK;
}
int model_set_dense(void *, gptq_plugin_model *, int32_t, int32_t, const gptq_plugin_dense *, char *e, size_t c) {
  return ok(e, c);
}
int model_set_gptq(void *, gptq_plugin_model *, int32_t, int32_t, const gptq_plugin_gptq_linear *l, char *err,
                   size_t cap) {
  try {
    const gptq::cuda::HostGptqLinear h{l->bits,  l->out_features, l->in_features, l->groups, l->codes,
                                       l->zeros, l->scales,       l->g_idx,       l->bias};
    const gptq::cuda::GptqPacked p = gptq::cuda::repack_gptq(h);
    repacked += static_cast<std::int64_t>(p.qweight.size());
    return GPTQ_PLUGIN_OK;
  } catch (const std::exception &e) {
    std::snprintf(err, cap, "%s", e.what());
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  }
}
int model_finish(void *, gptq_plugin_model *, char *e, size_t c) { return ok(e, c); }
void model_free(void *, gptq_plugin_model *) {}
int cache_create(void *, const gptq_plugin_model *, int64_t, int64_t, gptq_plugin_cache **, char *err, size_t cap) {
  std::snprintf(err, cap, "the host bench plugin runs nothing");
  return GPTQ_PLUGIN_ERR_UNSUPPORTED;
}
void cache_free(void *, gptq_plugin_cache *) {}
int model_run(void *, const gptq_plugin_model *, const int32_t *, int64_t, int64_t, const int64_t *, gptq_plugin_cache *, int,
              const float *, float *, char *err, size_t cap) {
  std::snprintf(err, cap, "the host bench plugin runs nothing");
  return GPTQ_PLUGIN_ERR_UNSUPPORTED;
}

gptq_backend_plugin host_table() {
  gptq_backend_plugin t{};
  t.name = "host-bench";
  t.model_begin = model_begin;
  t.model_set_dense = model_set_dense;
  t.model_set_gptq = model_set_gptq;
  t.model_finish = model_finish;
  t.model_free = model_free;
  t.cache_create = cache_create;
  t.cache_free = cache_free;
  t.model_run = model_run;
  return t;
}

}  // namespace

int main(int argc, char **argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: prepare_host_bench MODEL_DIR [THREADS...]\n");
    return 2;
  }
  const auto model = gptq::model::Model::open(argv[1]);
  const gptq::model::ModelSpec &spec = model->spec();
  if (!spec.quantization) throw std::runtime_error(std::string(argv[1]) + " is not a GPTQ checkpoint");
  std::vector<int> threads;
  for (int i = 2; i < argc; ++i) threads.push_back(std::atoi(argv[i]));
  if (threads.empty()) threads = {1, 2};
  const double layers = static_cast<double>(spec.num_layers);

  // Serial, as prepare ran before: read + unpack a block, then repack it.
  double read_s = 0, repack_s = 0;
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    auto t0 = Clock::now();
    const gptq::model::BlockWeights b =
        gptq::model::load_block_weights(spec, model->weights(), layer, gptq::model::QuantizedLinears::Unpack);
    read_s += since(t0);
    t0 = Clock::now();
    for (const auto &[name, w] : b.linears) {
      const gptq::quant::UnpackedGptq &q = w.gptq;
      const gptq::cuda::HostGptqLinear h{q.bits,          q.out_features,  q.in_features, q.groups,
                                         q.codes.data(),  q.zeros.data(),  q.scales.data(), q.g_idx.data(),
                                         w.bias.empty() ? nullptr : w.bias.data()};
      (void)gptq::cuda::repack_gptq(h);
    }
    repack_s += since(t0);
  }
  std::printf("serial (one thread, block by block): read+unpack %.3f s/block, repack %.3f s/block\n",
              read_s / layers, repack_s / layers);

  const gptq_backend_plugin table = host_table();
  gptq::Logger log(gptq::LogLevel::Info);
  log.set_sink([](gptq::LogLevel, const std::string &m) { std::printf("  log: %s\n", m.c_str()); });
  const gptq::PluginForwardEngine engine(table, nullptr, log);
  for (const int n : threads) {
    gptq::ThreadPool pool(n);
    const gptq::Compute compute(pool);
    const auto t0 = Clock::now();
    (void)engine.prepare(compute, spec, model->weights());
    const double s = since(t0);
    std::printf("prepare, %d thread%s: %.3f s/block (%.2f s for %lld layers and the globals)\n", n,
                n == 1 ? "" : "s", s / layers, s, static_cast<long long>(spec.num_layers));
  }
  return 0;
} catch (const std::exception &e) {
  std::fprintf(stderr, "prepare_host_bench: %s\n", e.what());
  return 1;
}
