// Runtime: what a gptq_context is inside — the effective RuntimeConfig, the
// log sink, the backend chosen for it, and its CPU threads.
#pragma once

#include <memory>

#include "core/backend/backend.h"
#include "core/cpu/thread_pool.h"
#include "core/log.h"
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
  // started with the context and shared by everything that computes on it.
  // Shared: a session keeps the pool, so it may outlive the context.
  const std::shared_ptr<ThreadPool> &pool() const { return pool_; }

 private:
  schema::RuntimeConfigT config_;
  Logger logger_;
  std::unique_ptr<Backend> backend_;
  std::shared_ptr<ThreadPool> pool_;
};

}  // namespace gptq
