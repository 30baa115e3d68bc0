// The library's defaults, as the CLI's --help shows them: the schema is their
// one source, so the CLI and the C API make the same checkpoint from the same
// inputs, and the help text cannot drift from what runs.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "gptq/gptq.h"

namespace gptq::cli {

// Every field of `kind` at its default: "{}" validated and written back by
// gptq_config_convert. Throws std::runtime_error (exit 1) if the library
// refuses, which would be a bug.
nlohmann::json schema_defaults(gptq_config_kind kind);

// A default as --help writes it: 4, 0.05, true, "gptq" without quotes.
std::string default_text(const nlohmann::json &value);

}  // namespace gptq::cli
