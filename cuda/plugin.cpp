// The plugin table of the CUDA backend (core/backend/backend_plugin.h): the only
// extern "C" outside capi/, because dlsym needs an unmangled name. Every entry
// catches everything and returns the reason as text.
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "core/backend/backend_plugin.h"
#include "cuda/cuda_check.h"
#include "cuda/device_state.h"

namespace gptq::cuda {
namespace {

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
    return 0;
  } catch (const std::exception &e) {
    write_reason(err, cap, e.what());
  } catch (...) {
    write_reason(err, cap, "unknown exception in the CUDA backend");
  }
  return 1;
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
      throw CudaError("no usable CUDA device: " + why);
    }
    if (n == 0) throw CudaError("no CUDA device present");
    *count = n;
  });
}

int open(int device, void **state, char *err, size_t cap) {
  return boundary(err, cap, [&] { *state = new DeviceState(device); });
}

void close(void *state) {
  (void)boundary(nullptr, 0, [&] { delete static_cast<DeviceState *>(state); });
}

int device_name(void *state, char *buf, size_t buf_cap, char *err, size_t cap) {
  return boundary(err, cap, [&] {
    std::snprintf(buf, buf_cap, "%s", static_cast<DeviceState *>(state)->properties().name);
  });
}

int self_test(void *state, char *err, size_t cap) {
  return boundary(err, cap, [&] { run_self_test(*static_cast<DeviceState *>(state), (1 << 20) + 7); });
}

const gptq_backend_plugin kTable = {
    sizeof(gptq_backend_plugin), GPTQ_BACKEND_PLUGIN_VERSION, "cuda", device_count, open, close,
    device_name, self_test};

}  // namespace
}  // namespace gptq::cuda

extern "C" __attribute__((visibility("default"))) const gptq_backend_plugin *gptq_backend_plugin_v1(void) {
  return &gptq::cuda::kTable;
}
