#include "core/backend/plugin_status.h"

#include "core/backend/backend_plugin.h"

namespace gptq {

static_assert(GPTQ_PLUGIN_ERR_INVALID_ARGUMENT == static_cast<int>(Status::InvalidArgument));
static_assert(GPTQ_PLUGIN_ERR_UNSUPPORTED == static_cast<int>(Status::Unsupported));
static_assert(GPTQ_PLUGIN_ERR_OUT_OF_MEMORY == static_cast<int>(Status::OutOfMemory));
static_assert(GPTQ_PLUGIN_ERR_DEVICE == static_cast<int>(Status::Device));
static_assert(GPTQ_PLUGIN_ERR_NUMERICAL == static_cast<int>(Status::Numerical));
static_assert(GPTQ_PLUGIN_ERR_CANCELLED == static_cast<int>(Status::Cancelled));
static_assert(GPTQ_PLUGIN_ERR_INTERNAL == static_cast<int>(Status::Internal));

Status plugin_status(int rc) {
  switch (rc) {
    case GPTQ_PLUGIN_ERR_INVALID_ARGUMENT:
    case GPTQ_PLUGIN_ERR_UNSUPPORTED:
    case GPTQ_PLUGIN_ERR_OUT_OF_MEMORY:
    case GPTQ_PLUGIN_ERR_DEVICE:
    case GPTQ_PLUGIN_ERR_NUMERICAL:
    case GPTQ_PLUGIN_ERR_CANCELLED:
    case GPTQ_PLUGIN_ERR_INTERNAL:
      return static_cast<Status>(rc);
    default:
      return Status::Internal;
  }
}

void check_plugin(int rc, const char *plugin, const std::string &what, const char *err) {
  if (rc == GPTQ_PLUGIN_OK) return;
  std::string message = std::string(plugin) + ": " + what + ": " + (err && *err ? err : "failed without a reason");
  if (plugin_status(rc) == Status::Internal && rc != GPTQ_PLUGIN_ERR_INTERNAL)
    message += " (unknown plugin status " + std::to_string(rc) + ")";
  fail(plugin_status(rc), message);
}

}  // namespace gptq
