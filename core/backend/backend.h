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

namespace gptq {

class QuantizeEngine;
class ForwardEngine;

// Bytes of a device's own memory.
struct DeviceMemory {
  std::uint64_t free = 0;
  std::uint64_t total = 0;
};

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
};

}  // namespace gptq
