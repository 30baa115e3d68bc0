// Failures of the forward runtime that are not CUDA's: the plugin boundary
// (cuda/plugin.cpp) maps each to its gptq_plugin_status.
#pragma once

#include <stdexcept>
#include <string>

namespace gptq::cuda {

// A shape, role or id the runtime refuses: GPTQ_PLUGIN_ERR_INVALID_ARGUMENT.
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The host's cancelled() said so between layers; no work left queued:
// GPTQ_PLUGIN_ERR_CANCELLED.
class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace gptq::cuda
