// Backend: where the numerical work runs. The CPU backend
// (core/backend/cpu_backend.h) is always there; the CUDA backend lives in
// libgptq-cuda.so and is reached through the plugin table of
// core/backend/backend_plugin.h, so core never includes a CUDA header and
// libgptq.so links no CUDA library. The work itself is done by the engines a
// backend gives access to (quantize_engine.h, forward_engine.h); each has a
// CPU implementation that is the reference. A backend that lacks an engine
// returns null and the context runs that operation on the CPU backend's
// (core/backend/runtime.h), saying so once in its log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/error.h"

namespace gptq {

class QuantizeEngine;
class ForwardEngine;

// Bytes of a device's own memory.
struct DeviceMemory {
  std::uint64_t free = 0;
  std::uint64_t total = 0;
};

// The device memory a backend's own allocations hold (not what its driver
// and libraries keep for themselves), in bytes.
struct DeviceMemoryUse {
  std::uint64_t live = 0;         // now
  std::uint64_t peak = 0;         // the most at once since the backend opened or the last reset
  std::uint64_t allocations = 0;  // made since the backend opened
};

// What a test hook makes fail (backend_plugin.h's inject_failure).
enum class InjectedFailure { Allocation = 0, Check = 1 };

class Backend {
 public:
  virtual ~Backend() = default;
  // "cpu" or "cuda".
  virtual std::string_view name() const = 0;
  // Human-readable device, e.g. "NVIDIA H100 80GB HBM3" or the CPU model.
  virtual std::string device_name() const = 0;
  // A quick end-to-end check that the device computes (CUDA: a kernel round
  // trip). Throws Error(Device) with the reason when it does not.
  virtual void self_test() = 0;

  // The engines; null when this backend does not implement them. They live
  // as long as the backend.
  virtual const QuantizeEngine *quantize_engine() const { return nullptr; }
  virtual const ForwardEngine *forward_engine() const { return nullptr; }

  // Free and total memory of the device; none for a backend that computes in
  // host memory (the CPU) or cannot tell.
  virtual std::optional<DeviceMemory> memory() const { return std::nullopt; }

  // What this backend's own allocations hold on its device; none for a
  // backend that computes in host memory or does not count. reset_peak:
  // after reading, the peak restarts from what is live (a quantize run
  // reports the peak of its own span).
  virtual std::optional<DeviceMemoryUse> memory_use(bool /*reset_peak*/) const { return std::nullopt; }

  // Test hook: the nth allocation or checked device call from now fails once,
  // as a real one would (0 disarms). Throws Error(Unsupported) for a backend
  // without the hook.
  virtual void inject_failure(InjectedFailure /*kind*/, std::int64_t /*nth*/) {
    fail(Status::Unsupported, std::string(name()) + ": this backend has no failure-injection hook");
  }
};

}  // namespace gptq
