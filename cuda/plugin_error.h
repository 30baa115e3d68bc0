// The refusals of the CUDA backend that are no device failure — input it
// refuses, an H that no allowed damping makes positive definite, a cancel, an
// observer that stopped a block — each carrying the gptq_plugin_status the
// plugin boundary (cuda/plugin.cpp) returns for it. One family for the
// runtime and the quantizer; device failures are CudaError (cuda_check.h),
// and the kernels' repack refusals std::invalid_argument.
#pragma once

#include <stdexcept>
#include <string>

#include "core/backend/backend_plugin.h"

namespace gptq::cuda {

class PluginError : public std::runtime_error {
 public:
  PluginError(gptq_plugin_status status, const std::string &message)
      : std::runtime_error(message), status_(status) {}
  gptq_plugin_status status() const noexcept { return status_; }

 private:
  gptq_plugin_status status_;
};

// A shape, role, id or option refused: GPTQ_PLUGIN_ERR_INVALID_ARGUMENT.
class InvalidArgument : public PluginError {
 public:
  explicit InvalidArgument(const std::string &message) : PluginError(GPTQ_PLUGIN_ERR_INVALID_ARGUMENT, message) {}
};

// The host's cancelled() said so; no work is left queued:
// GPTQ_PLUGIN_ERR_CANCELLED.
class Cancelled : public PluginError {
 public:
  explicit Cancelled(const std::string &where = "between layers of the forward pass")
      : PluginError(GPTQ_PLUGIN_ERR_CANCELLED, "cancelled " + where) {}
};

}  // namespace gptq::cuda
