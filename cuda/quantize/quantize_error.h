// A refusal of the CUDA quantizer that is no device failure: bad input
// (non-finite activations), an H that no allowed damping makes positive
// definite, a cancel. Carries the gptq_plugin_status the plugin boundary
// returns (cuda/plugin.cpp); device failures stay CudaError.
#pragma once

#include <stdexcept>
#include <string>

#include "core/backend/backend_plugin.h"

namespace gptq::cuda {

class QuantizeError : public std::runtime_error {
 public:
  QuantizeError(gptq_plugin_status status, const std::string &message)
      : std::runtime_error(message), status_(status) {}
  gptq_plugin_status status() const noexcept { return status_; }

 private:
  gptq_plugin_status status_;
};

}  // namespace gptq::cuda
