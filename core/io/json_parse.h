// Strict JSON parsing for the files we read (safetensors headers, index files,
// config.json). nlohmann::json silently keeps one of two equal keys and nests
// without limit; both are wrong for us: a duplicated tensor name is a corrupt
// file, and an adversarial header must not exhaust the stack. Internal to core/
// (nlohmann is a private dependency of gptq_core).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace gptq::io {

// Parses `text`, read from `source` (a path, used in messages). Throws
// gptq::Error(Status::Format) naming the source and the byte position for invalid
// JSON, the key and its enclosing object for a duplicate key, and the depth
// when objects/arrays nest deeper than `max_depth`.
nlohmann::json parse_json_strict(std::string_view text, const std::string &source,
                                 std::size_t max_depth);

// "a string", "an integer", ... for messages that say what was found instead.
std::string json_type_description(const nlohmann::json &value);

}  // namespace gptq::io
