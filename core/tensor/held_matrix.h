// A float matrix kept where an engine computes (a GPU's memory) instead of on
// the host: a quantize engine's dequantized weights, left on its device for
// the calibration forward that runs there next, so they never cross the bus
// (QuantizeEngine::solve). Opaque to the core: an engine of the same device
// uses it in place, any other reader copies it to the host with read().
#pragma once

#include <cstdint>

namespace gptq {

class HeldMatrix {
 public:
  virtual ~HeldMatrix() = default;
  virtual std::int64_t rows() const = 0;
  virtual std::int64_t cols() const = 0;
  // Copies the values, [rows][cols] row-major fp32, into dst. Throws Error
  // (the engine's failure).
  virtual void read(float *dst) const = 0;
};

}  // namespace gptq
