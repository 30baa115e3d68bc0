// Runtime: what a gptq_context is inside — the effective RuntimeConfig, the
// log sink, the backend chosen for it, and the CPU backend, which owns the
// context's threads and runs whatever the chosen backend has no engine for.
#pragma once

#include <memory>
#include <mutex>

#include "core/backend/backend.h"
#include "core/backend/cpu_backend.h"
#include "core/backend/forward_engine.h"
#include "core/backend/quantize_engine.h"
#include "core/base/log.h"
#include "schema/gptq_generated.h"

namespace gptq {

class Runtime {
 public:
  // Picks the backend as config.backend says: "cpu"; "cuda" (or throw with the
  // reason); "auto" = CUDA when it can be opened, else the CPU with an info
  // line saying why. The effective config (threads resolved, backend named)
  // is kept for config().
  explicit Runtime(const schema::RuntimeConfigT &config);

  const schema::RuntimeConfigT &config() const { return config_; }
  Logger &logger() { return logger_; }
  Backend &backend() { return *backend_; }
  const Backend &backend() const { return *backend_; }

  // The context's threads: config().threads of them (the caller's included),
  // the CPU backend's, shared by everything that computes on it. Shared: a
  // session keeps the pool, so it may outlive the context.
  const std::shared_ptr<ThreadPool> &pool() const { return cpu_->pool(); }

  // The engines of the chosen backend, or the CPU backend's for one it does
  // not implement (a warning says so, once per engine and context). Shared
  // with the backend that owns them, so a session may keep its engine.
  std::shared_ptr<const QuantizeEngine> quantize_engine();
  std::shared_ptr<const ForwardEngine> forward_engine();

 private:
  schema::RuntimeConfigT config_;
  Logger logger_;
  std::shared_ptr<CpuBackend> cpu_;
  std::shared_ptr<Backend> backend_;  // cpu_ itself, or the plugin's
  std::once_flag quantize_fallback_logged_;
  std::once_flag forward_fallback_logged_;
};

}  // namespace gptq
