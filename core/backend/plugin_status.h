// A plugin entry's status as the core's Error: the one place the values of
// gptq_plugin_status (backend_plugin.h) become gptq::Status, for the loader
// and the engines that call into a plugin.
#pragma once

#include <string>

#include "core/base/error.h"

namespace gptq {

// A plugin's status as the core's; an unknown value is a bug in the plugin.
Status plugin_status(int rc);

// Throws the failure of a plugin entry (rc != GPTQ_PLUGIN_OK): its status,
// "<plugin>: <what>: <reason>" with the reason the plugin wrote into err.
void check_plugin(int rc, const char *plugin, const std::string &what, const char *err);

}  // namespace gptq
