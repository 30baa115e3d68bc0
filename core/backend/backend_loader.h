// Finding and opening backends: the CPU one directly, the CUDA one by dlopen of
// libgptq-cuda.so (see backend_plugin.h).
#pragma once

#include <functional>
#include <memory>

#include "core/backend/backend.h"
#include "core/base/log.h"
#include "core/cpu/compute.h"

namespace gptq {

// Loads the CUDA backend and opens `device`, lending it the host services
// (gptq_backend_host: `log`, the cancellation below). Throws
// Error(Unsupported) when this build has no CUDA backend; otherwise the
// plugin's failures with the status they map to (out of memory stays
// OutOfMemory) and its reason, and Error(Device) when it cannot be used
// (plugin not found or of another version, device index out of range).
// $GPTQ_CUDA_PLUGIN names the plugin file to try first (in any build).
std::unique_ptr<Backend> open_cuda_backend(int device, Logger &log);

// While one lives on a thread, a plugin entry running on that thread that
// calls host->cancelled() gets `cancelled`'s answer: how the engine that
// calls into a plugin lends it the library call's cancellation (the
// progress callback asking to stop). Scopes nest; without one the answer is
// "not cancelled".
class PluginCallScope {
 public:
  explicit PluginCallScope(std::function<bool()> cancelled);
  // The library call's own: cancelled when compute.poll() says so (its
  // progress callback asked to stop).
  explicit PluginCallScope(const Compute &compute);
  ~PluginCallScope();
  PluginCallScope(const PluginCallScope &) = delete;
  PluginCallScope &operator=(const PluginCallScope &) = delete;

 private:
  friend bool plugin_call_cancelled();
  std::function<bool()> cancelled_;
  const PluginCallScope *outer_;
};

// What host->cancelled() answers on this thread now.
bool plugin_call_cancelled();

}  // namespace gptq
