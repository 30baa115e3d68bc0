// The plugin table of the CUDA backend (core/backend/backend_plugin.h, v2):
// the only extern "C" outside capi/, because dlsym needs an unmangled name.
// Every entry catches everything and returns a gptq_plugin_status with the
// reason as text: cudaErrorMemoryAllocation and std::bad_alloc as out of
// memory, other CUDA failures as device errors. The engine entries (buffers,
// Hessian, solve, prepared model, KV cache) stay NULL until the CUDA
// quantizer and runtime (issues 15, 16) fill them; the core runs that work
// on the CPU meanwhile.
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "core/backend/backend_plugin.h"
#include "cuda/cuda_check.h"
#include "cuda/device_state.h"

namespace gptq::cuda {
namespace {

// What `open` hands back: the device and the host services it was lent.
struct PluginState {
  PluginState(int device, const gptq_backend_host *h) : state(device), host(h) {}
  DeviceState state;
  const gptq_backend_host *host;
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

template <class Body>
int boundary(char *err, size_t cap, Body &&body) noexcept {
  try {
    body();
    return GPTQ_PLUGIN_OK;
  } catch (const CudaError &e) {
    write_reason(err, cap, e.what());
    return e.code() == cudaErrorMemoryAllocation ? GPTQ_PLUGIN_ERR_OUT_OF_MEMORY : GPTQ_PLUGIN_ERR_DEVICE;
  } catch (const std::bad_alloc &) {
    write_reason(err, cap, "out of host memory in the CUDA backend");
    return GPTQ_PLUGIN_ERR_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    write_reason(err, cap, e.what());
  } catch (...) {
    write_reason(err, cap, "unknown exception in the CUDA backend");
  }
  return GPTQ_PLUGIN_ERR_INTERNAL;
}

int device_count(int *count, char *err, size_t cap) {
  return boundary(err, cap, [&] {
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
  return boundary(err, cap, [&] {
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
  (void)boundary(nullptr, 0, [&] { delete static_cast<PluginState *>(state); });
}

int device_name(void *state, char *buf, size_t buf_cap, char *err, size_t cap) {
  return boundary(err, cap, [&] { std::snprintf(buf, buf_cap, "%s", state_of(state).state.properties().name); });
}

int self_test(void *state, char *err, size_t cap) {
  return boundary(err, cap, [&] { run_self_test(state_of(state).state, (1 << 20) + 7); });
}

int memory_info(void *state, uint64_t *free_bytes, uint64_t *total_bytes, char *err, size_t cap) {
  return boundary(err, cap, [&] {
    state_of(state).state.activate();
    size_t free_b = 0, total_b = 0;
    GPTQ_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    *free_bytes = free_b;
    *total_bytes = total_b;
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
  return t;
}

const gptq_backend_plugin kTable = make_table();

}  // namespace
}  // namespace gptq::cuda

extern "C" __attribute__((visibility("default"))) const gptq_backend_plugin *gptq_backend_plugin_v2(void) {
  return &gptq::cuda::kTable;
}
