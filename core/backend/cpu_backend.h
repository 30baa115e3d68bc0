// The CPU backend: always available, and the reference every other backend is
// tested against. It owns the context's threads (a ThreadPool of the
// context's own; OpenBLAS is held at one thread while a call computes,
// core/cpu/compute.h) and its engines are adapters over the CPU code of
// core/quant and core/model (cpu_quantize_engine.h, cpu_forward_engine.h).
#pragma once

#include <memory>
#include <string>

#include "core/backend/backend.h"
#include "core/backend/cpu_forward_engine.h"
#include "core/backend/cpu_quantize_engine.h"
#include "core/cpu/thread_pool.h"

namespace gptq {

class CpuBackend final : public Backend {
 public:
  // `threads` > 0: the size of the pool, started now (the caller's thread
  // included; core/cpu/cpu_info.h resolves a configured 0).
  explicit CpuBackend(int threads);

  std::string_view name() const override { return "cpu"; }
  std::string device_name() const override;
  void self_test() override {}  // The CPU computes whatever core computes.
  const QuantizeEngine *quantize_engine() const override { return &quantize_; }
  const ForwardEngine *forward_engine() const override { return &forward_; }

  // Shared: a session keeps the pool, so it may outlive the context.
  const std::shared_ptr<ThreadPool> &pool() const { return pool_; }

 private:
  std::shared_ptr<ThreadPool> pool_;
  std::string model_;
  CpuQuantizeEngine quantize_;
  CpuForwardEngine forward_;
};

}  // namespace gptq
