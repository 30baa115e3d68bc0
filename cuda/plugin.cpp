// The plugin table of the CUDA backend (core/backend/backend_plugin.h, v8):
// the only extern "C" outside capi/, because dlsym needs an unmangled name.
// Every entry catches everything and returns a gptq_plugin_status with the
// reason as text: cudaErrorMemoryAllocation and std::bad_alloc as out of
// memory, other CUDA failures as device errors, the runtime's and the
// quantizer's refusals (cuda/plugin_error.h) with their own status, the
// kernels' repack refusals as invalid arguments. The forward group (prepared model, KV cache, run, and the
// run that chooses each sequence's token on the device) is the CUDA runtime (cuda/runtime/); the quantize group (buffers, Hessian, solve) is
// the CUDA quantizer (cuda/quantize/); the block group (the calibration
// forward) is the runtime's block runner (cuda/runtime/block_runner.h).
// Every entry on a state charges the device memory it allocates to the
// state's account (cuda/device_memory.h): memory_use reads it, and
// inject_failure arms its test hook. Its host-to-device copies go through the
// state's pinned staging (cuda/host_staging.h).
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/backend/backend_plugin.h"
#include "cuda/cuda_check.h"
#include "cuda/device_state.h"
#include "cuda/device_memory.h"
#include "cuda/env_switch.h"
#include "cuda/host_staging.h"
#include "cuda/quantize/device_hessian.h"
#include "cuda/quantize/gptq_solve.h"
#include "cuda/quantize/quantize_device.h"
#include "cuda/plugin_error.h"
#include "cuda/runtime/block_forward.h"
#include "cuda/runtime/block_runner.h"
#include "cuda/runtime/device_model.h"
#include "cuda/runtime/forward_device.h"
#include "cuda/plugin_error.h"

namespace gptq::cuda {
namespace {

// What `open` hands back: the device and the host services it was lent,
// and what whole-model runs share (made on the first model).
struct PluginState {
  PluginState(int device, const gptq_backend_host *h)
      : staging([h](const std::string &line) {
          if (h && h->log) h->log(h->user, 3, line.c_str());
        }),
        state(device),
        host(h) {
    // GPTQ_CUDA_PINNED_STAGING=0: every upload from pageable memory, to
    // measure what the staging gains.
    staged = !switched_off("GPTQ_CUDA_PINNED_STAGING");
  }
  // Every device allocation of the state's entries (first: outlives them).
  MemoryAccount memory;
  // Every host-to-device copy of the state's entries (cuda/host_staging.h).
  HostStaging staging;
  bool staged = true;
  const ForwardDevice &forward() {
    const std::lock_guard<std::mutex> lock(forward_mutex);
    if (!forward_device) forward_device = std::make_unique<ForwardDevice>(state.stream(), host);
    return *forward_device;
  }
  DeviceState state;
  const gptq_backend_host *host;
  std::mutex forward_mutex;
  std::unique_ptr<ForwardDevice> forward_device;

  // The quantizer's cuBLAS/cuSOLVER handles, made on first use.
  const QuantizeDevice &quantizer() {
    const std::lock_guard<std::mutex> lock(quantize_mutex);
    if (!quantize_device) quantize_device = std::make_unique<QuantizeDevice>(state, host);
    return *quantize_device;
  }
  std::mutex quantize_mutex;
  std::unique_ptr<QuantizeDevice> quantize_device;
};

PluginState &state_of(void *state) { return *static_cast<PluginState *>(state); }

bool driver_present() {
  void *lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);
  if (!lib) lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!lib) return false;
  dlclose(lib);
  return true;
}

void write_reason(char *err, size_t cap, const std::string &reason) {
  if (err && cap > 0) std::snprintf(err, cap, "%s", reason.c_str());
}

// The entries without a state (device_count, open); every other entry goes
// through boundary(state, ...) below.
template <class Body>
int stateless_boundary(char *err, size_t cap, Body &&body) noexcept {
  try {
    body();
    return GPTQ_PLUGIN_OK;
  } catch (const PluginError &e) {
    write_reason(err, cap, e.what());
    return e.status();
  } catch (const CudaError &e) {
    write_reason(err, cap, e.what());
    return e.code() == cudaErrorMemoryAllocation ? GPTQ_PLUGIN_ERR_OUT_OF_MEMORY : GPTQ_PLUGIN_ERR_DEVICE;
  } catch (const std::bad_alloc &) {
    write_reason(err, cap, "out of host memory in the CUDA backend");
    return GPTQ_PLUGIN_ERR_OUT_OF_MEMORY;
  } catch (const std::invalid_argument &e) {
    // The kernels' repack refusals (a layer the checkpoint holds wrongly),
    // naming the field.
    write_reason(err, cap, e.what());
    return GPTQ_PLUGIN_ERR_INVALID_ARGUMENT;
  } catch (const std::exception &e) {
    write_reason(err, cap, e.what());
  } catch (...) {
    write_reason(err, cap, "unknown exception in the CUDA backend");
  }
  return GPTQ_PLUGIN_ERR_INTERNAL;
}

// An entry on `state`: the device memory it allocates (and frees, whatever
// entry frees it) is the state's (cuda/device_memory.h).
template <class Body>
int boundary(void *state, char *err, size_t cap, Body &&body) noexcept {
  PluginState &s = state_of(state);
  const AccountScope scope(&s.memory);
  const StagingScope staging(s.staged ? &s.staging : nullptr);
  return stateless_boundary(err, cap, std::forward<Body>(body));
}

// A free entry: the object goes whatever happens (making the device current
// can fail, and a void entry could not say so: it would leak).
template <class T>
void free_in(void *state, T *object) {
  (void)boundary(state, nullptr, 0, [&] {
    const std::unique_ptr<T> owned(object);
    state_of(state).state.activate();
  });
}

int device_count(int *count, char *err, size_t cap) {
  return stateless_boundary(err, cap, [&] {
    int n = 0;
    cudaError_t st = cudaGetDeviceCount(&n);
    if (st != cudaSuccess) {
      std::string why = std::string(cudaGetErrorName(st)) + ": " + cudaGetErrorString(st);
      // Without a driver the runtime says "insufficient driver"; say plainly
      // that there is none.
      if (st == cudaErrorInsufficientDriver && !driver_present())
        why = "no NVIDIA driver is installed (libcuda.so.1 cannot be loaded)";
      throw CudaError("no usable CUDA device: " + why, st);
    }
    if (n == 0) throw CudaError("no CUDA device present", cudaErrorNoDevice);
    *count = n;
  });
}

int open(int device, const gptq_backend_host *host, void **state, char *err, size_t cap) {
  return stateless_boundary(err, cap, [&] {
    auto *s = new PluginState(device, host);
    *state = s;
    if (host && host->log) {
      const cudaDeviceProp &p = s->state.properties();
      char line[384];
      std::snprintf(line, sizeof line, "opened device %d: %s, sm_%d%d, %.1f GiB", device, p.name, p.major,
                    p.minor, static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
      host->log(host->user, 4, line);
    }
  });
}

void close(void *state) {
  (void)boundary(state, nullptr, 0, [&] { delete static_cast<PluginState *>(state); });
}

int device_name(void *state, char *buf, size_t buf_cap, char *err, size_t cap) {
  return boundary(state, err, cap, [&] { std::snprintf(buf, buf_cap, "%s", state_of(state).state.properties().name); });
}

int self_test(void *state, char *err, size_t cap) {
  return boundary(state, err, cap, [&] { run_self_test(state_of(state).state, (1 << 20) + 7); });
}

int memory_info(void *state, uint64_t *free_bytes, uint64_t *total_bytes, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    PluginState &s = state_of(state);
    s.state.activate();
    // Per-run scratch is freed in stream order into the stream-ordered pool,
    // which gives it back to the device at the next synchronization: wait
    // for the state's queued work, so what it freed counts as free.
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(s.state.stream()));
    size_t free_b = 0, total_b = 0;
    GPTQ_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    *free_bytes = free_b;
    *total_bytes = total_b;
  });
}

// The opaque handles of backend_plugin.h are these types.
DeviceModel &model_of(gptq_plugin_model *m) { return *reinterpret_cast<DeviceModel *>(m); }
const DeviceModel &model_of(const gptq_plugin_model *m) { return *reinterpret_cast<const DeviceModel *>(m); }
DeviceCache *cache_of(gptq_plugin_cache *c) { return reinterpret_cast<DeviceCache *>(c); }

int model_begin(void *state, const gptq_plugin_model_spec *spec, gptq_plugin_model **out, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!spec || !out) throw InvalidArgument("model_begin needs a spec and an out handle");
    state_of(state).state.activate();
    *out = reinterpret_cast<gptq_plugin_model *>(new DeviceModel(*spec));
  });
}

int model_set_dense(void *state, gptq_plugin_model *model, int32_t layer, int32_t role,
                    const gptq_plugin_dense *tensor, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!model || !tensor) throw InvalidArgument("model_set_dense needs a model and a tensor");
    PluginState &s = state_of(state);
    s.state.activate();
    model_of(model).set_dense(layer, role, *tensor, s.state.stream());
  });
}

int model_set_gptq(void *state, gptq_plugin_model *model, int32_t layer, int32_t role,
                   const gptq_plugin_gptq_linear *linear, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!model || !linear) throw InvalidArgument("model_set_gptq needs a model and a linear");
    PluginState &s = state_of(state);
    s.state.activate();
    model_of(model).set_gptq(layer, role, *linear, s.state.stream());
  });
}

int model_finish(void *state, gptq_plugin_model *model, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!model) throw InvalidArgument("model_finish needs a model");
    PluginState &s = state_of(state);
    s.state.activate();
    (void)s.forward();  // cuBLAS now, so a failure shows at prepare, not mid-generation
    model_of(model).finish();
    if (s.host && s.host->log) {
      s.host->log(s.host->user, 3, model_of(model).fusion_summary().c_str());
      // Where the load's time went on this side (issue 15), with how the
      // state's uploads went so far.
      const HostStaging::Totals t = s.staging.totals();
      char line[512];
      if (s.staged)
        std::snprintf(line, sizeof line,
                      "%s; uploads so far on this device: %.2f GB through pinned staging, %.2f GB from pageable "
                      "memory, %.2f s in the copies (summed over threads)",
                      model_of(model).load_summary().c_str(), static_cast<double>(t.staged_bytes) * 1e-9,
                      static_cast<double>(t.pageable_bytes) * 1e-9, t.seconds);
      else
        std::snprintf(line, sizeof line, "%s; uploads from pageable memory (GPTQ_CUDA_PINNED_STAGING=0)",
                      model_of(model).load_summary().c_str());
      s.host->log(s.host->user, 3, line);
    }
  });
}

void model_free(void *state, gptq_plugin_model *model) {
  free_in(state, &model_of(model));
}

int cache_create(void *state, const gptq_plugin_model *model, int64_t batch, int64_t capacity,
                 gptq_plugin_cache **out, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!model || !out) throw InvalidArgument("cache_create needs a model and an out handle");
    state_of(state).state.activate();
    *out = reinterpret_cast<gptq_plugin_cache *>(model_of(model).make_cache(batch, capacity).release());
  });
}

void cache_free(void *state, gptq_plugin_cache *cache) {
  free_in(state, cache_of(cache));
}

int model_run(void *state, const gptq_plugin_model *model, const int32_t *ids, int64_t batch, int64_t seq,
              const int64_t *counts, gptq_plugin_cache *cache, int last_only, const float *inv_freq, float *logits,
              char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!model || !counts) throw InvalidArgument("model_run needs a model and the sequences' counts");
    PluginState &s = state_of(state);
    s.state.activate();
    model_of(model).run(s.forward(), ids, batch, seq, counts, cache_of(cache), last_only != 0, inv_freq,
                        logits);
  });
}

// model_run and the token choice on the device (v7). GPTQ_GPU_SAMPLING=0
// (cuda/env_switch.h, read at each call) leaves every choice to the host,
// every row of logits coming back as model_run's: what the device choice
// saves, measured in one process.
int model_run_sample(void *state, const gptq_plugin_model *model, const int32_t *ids, int64_t batch, int64_t seq,
                     const int64_t *counts, gptq_plugin_cache *cache, const float *inv_freq,
                     const gptq_plugin_sampling *sampling, int32_t *tokens, float *logits, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!model || !counts || !cache || !sampling || !tokens || !logits)
      throw InvalidArgument("model_run_sample needs a model, the counts, a KV cache, the step, tokens and logits");
    if (batch <= 0) throw InvalidArgument("model_run_sample: batch must be > 0");
    if (!sampling->active) throw InvalidArgument("model_run_sample: the step has no active flags");
    PluginState &s = state_of(state);
    s.state.activate();
    if (switched_off("GPTQ_GPU_SAMPLING")) {
      model_of(model).run(s.forward(), ids, batch, seq, counts, cache_of(cache), true, inv_freq, logits);
      for (int64_t b = 0; b < batch; ++b)
        tokens[b] = sampling->active[b] ? GPTQ_PLUGIN_TOKEN_ON_HOST : GPTQ_PLUGIN_TOKEN_NOT_WANTED;
      return;
    }
    const TokenChoice choice{sampling, tokens};
    model_of(model).run(s.forward(), ids, batch, seq, counts, cache_of(cache), true, inv_freq, logits, &choice);
  });
}

// The quantize group (issue 16). The opaque handles are these types.
// A buffer the core allocated (owned), or a view the block runner lends an
// observer (its memory belongs to the run).
struct PluginBuffer {
  DeviceBuffer owned;
  unsigned char *data = nullptr;
  std::size_t size = 0;
  // fp32 whose every value is an fp16 (a block run's view of a linear's
  // widened input): a Hessian multiplies it as fp16.
  bool fp16_values = false;
};
PluginBuffer &buffer_of(gptq_plugin_buffer *b) { return *reinterpret_cast<PluginBuffer *>(b); }
const PluginBuffer &buffer_of(const gptq_plugin_buffer *b) { return *reinterpret_cast<const PluginBuffer *>(b); }
DeviceHessian &hessian_of(gptq_plugin_hessian *h) { return *reinterpret_cast<DeviceHessian *>(h); }
const DeviceHessian &hessian_of(const gptq_plugin_hessian *h) { return *reinterpret_cast<const DeviceHessian *>(h); }

void check_range(std::size_t size, std::size_t offset, std::size_t bytes, const char *what) {
  if (offset > size || bytes > size - offset)
    throw InvalidArgument(std::string(what) + ": bytes [" + std::to_string(offset) + ", " +
                            std::to_string(offset + bytes) + ") outside the buffer's " + std::to_string(size));
}

int buffer_alloc(void *state, size_t bytes, gptq_plugin_buffer **out, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    state_of(state).state.activate();
    auto b = std::make_unique<PluginBuffer>();
    b->owned = DeviceBuffer(bytes, "a buffer of activations");
    b->data = b->owned.as<unsigned char>();
    b->size = bytes;
    *out = reinterpret_cast<gptq_plugin_buffer *>(b.release());
  });
}

void buffer_free(void *state, gptq_plugin_buffer *buffer) {
  free_in(state, &buffer_of(buffer));
}

int buffer_write(void *state, gptq_plugin_buffer *dst, size_t offset, const void *src, size_t bytes, char *err,
                 size_t cap) {
  return boundary(state, err, cap, [&] {
    PluginState &s = state_of(state);
    s.state.activate();
    PluginBuffer &b = buffer_of(dst);
    check_range(b.size, offset, bytes, "buffer_write");
    copy_to_device(b.data + offset, src, bytes, s.state.stream(), true);
  });
}

int buffer_read(void *state, const gptq_plugin_buffer *src, size_t offset, void *dst, size_t bytes, char *err,
                size_t cap) {
  return boundary(state, err, cap, [&] {
    PluginState &s = state_of(state);
    s.state.activate();
    const PluginBuffer &b = buffer_of(src);
    check_range(b.size, offset, bytes, "buffer_read");
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(dst, b.data + offset, bytes, cudaMemcpyDeviceToHost, s.state.stream()));
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(s.state.stream()));
  });
}

// v8: host memory the core parks calibration rows in, page-locked in place
// (HostStaging::pin), so buffer_write sends it straight and buffer_read
// fills it straight.
int host_pin(void *state, void *ptr, size_t bytes, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!ptr || bytes == 0) throw InvalidArgument("host_pin needs memory to pin");
    // GPTQ_CUDA_HOST_PIN=0: such memory stays pageable, to measure what
    // pinning gains.
    if (switched_off("GPTQ_CUDA_HOST_PIN"))
      throw PluginError(GPTQ_PLUGIN_ERR_UNSUPPORTED, "switched off by GPTQ_CUDA_HOST_PIN=0");
    PluginState &s = state_of(state);
    s.state.activate();
    s.staging.pin(ptr, bytes);
  });
}

void host_unpin(void *state, void *ptr) {
  (void)boundary(state, nullptr, 0, [&] { state_of(state).staging.unpin(ptr); });
}

int hessian_create(void *state, int64_t columns, int fp64, gptq_plugin_hessian **out, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    PluginState &s = state_of(state);
    s.state.activate();
    auto h = std::make_unique<DeviceHessian>(s.quantizer(), columns, fp64 != 0);
    *out = reinterpret_cast<gptq_plugin_hessian *>(h.release());
  });
}

void hessian_free(void *state, gptq_plugin_hessian *h) {
  free_in(state, &hessian_of(h));
}

int hessian_accumulate(void *state, gptq_plugin_hessian *h, const gptq_plugin_buffer *x, int64_t rows,
                       int64_t samples, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    state_of(state).state.activate();
    DeviceHessian &hs = hessian_of(h);
    const PluginBuffer &b = buffer_of(x);
    if (rows <= 0) throw InvalidArgument("hessian_accumulate: rows must be > 0");
    check_range(b.size, 0,
                static_cast<std::size_t>(rows) * static_cast<std::size_t>(hs.columns()) * sizeof(float),
                "hessian_accumulate");
    hs.accumulate(reinterpret_cast<const float *>(b.data), rows, samples, b.fp16_values);
  });
}

int hessian_finish(void *state, gptq_plugin_hessian *h, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    state_of(state).state.activate();
    hessian_of(h).finish();
  });
}

int hessian_write(void *state, gptq_plugin_hessian *h, const float *src, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    state_of(state).state.activate();
    hessian_of(h).write(src);
  });
}

int hessian_read(void *state, const gptq_plugin_hessian *h, float *dst, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    state_of(state).state.activate();
    hessian_of(h).read(dst);
  });
}

int quantize_solve(void *state, const gptq_plugin_hessian *h, const float *w, int64_t rows, int64_t cols,
                   const gptq_plugin_quant_options *options, gptq_plugin_quant_result *out, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    PluginState &s = state_of(state);
    s.state.activate();
    if (!options || !out) throw InvalidArgument("quantize_solve: options or out is null");
    float *dequant_device = nullptr;
    if (out->dequant_buffer) {
      PluginBuffer &b = buffer_of(out->dequant_buffer);
      if (rows <= 0 || cols <= 0) throw InvalidArgument("quantize_solve: rows and cols must be > 0");
      check_range(b.size, 0, static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols) * sizeof(float),
                  "quantize_solve's dequant_buffer");
      dequant_device = reinterpret_cast<float *>(b.data);
    }
    gptq_solve(s.quantizer(), hessian_of(h), w, rows, cols, *options, *out, dequant_device);
  });
}

int buffer_copy(void *state, gptq_plugin_buffer *dst, const gptq_plugin_buffer *src, size_t bytes, char *err,
                size_t cap) {
  return boundary(state, err, cap, [&] {
    PluginState &s = state_of(state);
    s.state.activate();
    if (!dst || !src) throw InvalidArgument("buffer_copy needs two buffers");
    PluginBuffer &d = buffer_of(dst);
    const PluginBuffer &from = buffer_of(src);
    check_range(from.size, 0, bytes, "buffer_copy's source");
    check_range(d.size, 0, bytes, "buffer_copy's destination");
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(d.data, from.data, bytes, cudaMemcpyDeviceToDevice, s.state.stream()));
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(s.state.stream()));
  });
}

// The block group (issue 16): the calibration forward. The handle is this type.
BlockRunner &block_of(gptq_plugin_block *b) { return *reinterpret_cast<BlockRunner *>(b); }

int block_create(void *state, const gptq_plugin_model_spec *spec, gptq_plugin_block **out, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!spec || !out) throw InvalidArgument("block_create needs a spec and an out handle");
    state_of(state).state.activate();
    *out = reinterpret_cast<gptq_plugin_block *>(new BlockRunner(*spec));
  });
}

void block_free(void *state, gptq_plugin_block *block) {
  free_in(state, &block_of(block));
}

int block_set_dense(void *state, gptq_plugin_block *block, int32_t role, const gptq_plugin_dense *tensor, char *err,
                    size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!block || !tensor) throw InvalidArgument("block_set_dense needs a block and a tensor");
    PluginState &s = state_of(state);
    s.state.activate();
    block_of(block).set_dense(role, *tensor, s.state.stream());
  });
}

int block_set_dense_buffer(void *state, gptq_plugin_block *block, int32_t role, const gptq_plugin_buffer *weight,
                           int64_t rows, int64_t cols, const float *bias, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!block || !weight) throw InvalidArgument("block_set_dense_buffer needs a block and a weight buffer");
    if (rows <= 0 || cols <= 0) throw InvalidArgument("block_set_dense_buffer: rows and cols must be > 0");
    PluginState &s = state_of(state);
    s.state.activate();
    const PluginBuffer &b = buffer_of(weight);
    check_range(b.size, 0, static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols) * sizeof(float),
                "block_set_dense_buffer's weight");
    block_of(block).set_dense_device(role, reinterpret_cast<const float *>(b.data), rows, cols, bias,
                                     s.state.stream());
    // The buffer is the core's: the conversion has read it before it may go.
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(s.state.stream()));
  });
}

int block_run(void *state, gptq_plugin_block *block, gptq_plugin_buffer *hidden, int64_t batch, int64_t seq,
              const float *inv_freq, gptq_plugin_observer_fn observe, void *user, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!block || !hidden) throw InvalidArgument("block_run needs a block and the hidden state");
    if (batch <= 0 || seq <= 0 || batch > (std::int64_t{1} << 31) / seq)
      throw InvalidArgument("block_run: batch " + std::to_string(batch) + " x seq " + std::to_string(seq) +
                            " is not a run");
    PluginState &s = state_of(state);
    s.state.activate();
    BlockRunner &runner = block_of(block);
    PluginBuffer &h = buffer_of(hidden);
    check_range(h.size, 0,
                static_cast<std::size_t>(batch * seq) * static_cast<std::size_t>(runner.hidden_size()) *
                    sizeof(float),
                "block_run's hidden state");
    // One view per distinct input of the block, so linears that share an
    // input get the same handle.
    PluginBuffer views[4];
    // Thrown out of the run (which then leaves no work queued and frees its
    // scratch, as for a failure) when the observer needs nothing more.
    struct Stopped {};
    BlockObserver seen;
    if (observe)
      seen = [&](std::int32_t role, int input, const float *x, std::int64_t rows, std::int64_t cols) {
        PluginBuffer &v = views[input];
        v.data = reinterpret_cast<unsigned char *>(const_cast<float *>(x));
        v.size = static_cast<std::size_t>(rows * cols) * sizeof(float);
        v.fp16_values = true;  // the runner's linears take fp16: x is their input widened
        const int rc = observe(user, role, reinterpret_cast<const gptq_plugin_buffer *>(&v), rows, cols);
        if (rc == GPTQ_PLUGIN_OBSERVER_STOP) throw Stopped{};
        if (rc != GPTQ_PLUGIN_OK)
          throw PluginError(static_cast<gptq_plugin_status>(rc),
                            std::string("the observer stopped the block before its ") + role_name(role) +
                                  " (status " + std::to_string(rc) + ")");
      };
    try {
      runner.run(s.forward(), reinterpret_cast<float *>(h.data), batch, seq, inv_freq, seen);
    } catch (const Stopped &) {
      // Ended before a linear at the observer's word: a success, hidden undefined.
    }
  });
}

int memory_use(void *state, uint64_t *live_bytes, uint64_t *peak_bytes, uint64_t *allocations, int reset_peak,
               char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (!live_bytes || !peak_bytes || !allocations) throw InvalidArgument("memory_use needs three out pointers");
    const MemoryAccount::Use u = state_of(state).memory.use(reset_peak != 0);
    *live_bytes = u.live;
    *peak_bytes = u.peak;
    *allocations = u.allocations;
  });
}

int inject_failure(void *state, int32_t kind, int64_t nth, char *err, size_t cap) {
  return boundary(state, err, cap, [&] {
    if (nth < 0) throw InvalidArgument("inject_failure: nth must be >= 0, got " + std::to_string(nth));
    MemoryAccount &m = state_of(state).memory;
    if (kind == GPTQ_PLUGIN_FAIL_ALLOCATION)
      m.fail_allocation(nth);
    else if (kind == GPTQ_PLUGIN_FAIL_CHECK)
      m.fail_check(nth);
    else
      throw InvalidArgument("inject_failure: unknown kind " + std::to_string(kind));
  });
}

gptq_backend_plugin make_table() {
  gptq_backend_plugin t{};  // every optional entry NULL unless set below
  t.size = sizeof(gptq_backend_plugin);
  t.version = GPTQ_BACKEND_PLUGIN_VERSION;
  t.name = "cuda";
  t.device_count = device_count;
  t.open = open;
  t.close = close;
  t.device_name = device_name;
  t.self_test = self_test;
  t.memory_info = memory_info;
  t.model_begin = model_begin;
  t.model_set_dense = model_set_dense;
  t.model_set_gptq = model_set_gptq;
  t.model_finish = model_finish;
  t.model_free = model_free;
  t.cache_create = cache_create;
  t.cache_free = cache_free;
  t.model_run = model_run;
  t.buffer_alloc = buffer_alloc;
  t.buffer_free = buffer_free;
  t.buffer_write = buffer_write;
  t.buffer_read = buffer_read;
  t.hessian_create = hessian_create;
  t.hessian_free = hessian_free;
  t.hessian_accumulate = hessian_accumulate;
  t.hessian_finish = hessian_finish;
  t.hessian_write = hessian_write;
  t.hessian_read = hessian_read;
  t.quantize_solve = quantize_solve;
  t.buffer_copy = buffer_copy;
  t.block_create = block_create;
  t.block_free = block_free;
  t.block_set_dense = block_set_dense;
  t.block_run = block_run;
  t.memory_use = memory_use;
  t.inject_failure = inject_failure;
  t.block_set_dense_buffer = block_set_dense_buffer;
  t.model_run_sample = model_run_sample;
  t.host_pin = host_pin;
  t.host_unpin = host_unpin;
  return t;
}

const gptq_backend_plugin kTable = make_table();

}  // namespace
}  // namespace gptq::cuda

extern "C" __attribute__((visibility("default"))) const gptq_backend_plugin *gptq_backend_plugin_v8(void) {
  return &gptq::cuda::kTable;
}
