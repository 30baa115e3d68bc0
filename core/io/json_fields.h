// Typed access to the fields of a JSON object read from a file (config.json,
// quantize_config.json), every problem an Error(Format) naming the file and
// the field ("rope_scaling.factor").
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/io/json_parse.h"

namespace gptq::io {

// The default bound of JsonFields::positive: sizes beyond it are corrupt
// configs, not models (it keeps every product of two sizes within 64 bits).
inline constexpr std::int64_t kMaxJsonSize = (std::int64_t{1} << 31) - 1;

class JsonFields {
 public:
  JsonFields(const nlohmann::json &object, const std::string &source, std::string prefix = "")
      : object_(object), source_(source), prefix_(std::move(prefix)) {}

  bool has(std::string_view name) const {
    auto it = object_.find(name);
    return it != object_.end() && !it->is_null();
  }

  [[noreturn]] void wrong(std::string_view name, const std::string &problem) const {
    fail(Status::Format, source_ + ": field '" + prefix_ + std::string(name) + "' " + problem);
  }

  const nlohmann::json &get(std::string_view name) const {
    auto it = object_.find(name);
    if (it == object_.end()) wrong(name, "is missing");
    if (it->is_null()) wrong(name, "is null");
    return *it;
  }

  std::int64_t integer(std::string_view name) const {
    const nlohmann::json &v = get(name);
    if (v.is_number_unsigned() &&
        v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      wrong(name, "is " + v.dump() + ", too large");
    if (!v.is_number_integer()) wrong(name, "is " + io::json_type_description(v) + ", expected an integer");
    return v.get<std::int64_t>();
  }
  std::optional<std::int64_t> opt_integer(std::string_view name) const {
    return has(name) ? std::optional(integer(name)) : std::nullopt;
  }
  std::int64_t positive(std::string_view name, std::int64_t max = kMaxJsonSize) const {
    const std::int64_t v = integer(name);
    if (v <= 0) wrong(name, "is " + std::to_string(v) + ", expected a positive integer");
    if (v > max) wrong(name, "is " + std::to_string(v) + ", more than the limit " + std::to_string(max));
    return v;
  }
  std::int64_t positive_or(std::string_view name, std::int64_t fallback) const {
    return has(name) ? positive(name) : fallback;
  }

  double number(std::string_view name) const {
    const nlohmann::json &v = get(name);
    if (!v.is_number()) wrong(name, "is " + io::json_type_description(v) + ", expected a number");
    return v.get<double>();
  }
  double positive_number(std::string_view name) const {
    const double v = number(name);
    if (!(v > 0) || !std::isfinite(v)) wrong(name, "is " + get(name).dump() + ", expected > 0");
    return v;
  }
  double positive_number_or(std::string_view name, double fallback) const {
    return has(name) ? positive_number(name) : fallback;
  }

  bool boolean_or(std::string_view name, bool fallback) const {
    if (name.empty() || !has(name)) return fallback;
    const nlohmann::json &v = get(name);
    if (!v.is_boolean()) wrong(name, "is " + io::json_type_description(v) + ", expected true or false");
    return v.get<bool>();
  }

  std::string string(std::string_view name) const {
    const nlohmann::json &v = get(name);
    if (!v.is_string()) wrong(name, "is " + io::json_type_description(v) + ", expected a string");
    return v.get<std::string>();
  }
  std::string string_or(std::string_view name, std::string_view fallback) const {
    return has(name) ? string(name) : std::string(fallback);
  }

  // "quantization_config." for the fields of that object, "" at the top level.
  const std::string &prefix() const { return prefix_; }

  // An object-valued field, for reading its own fields.
  JsonFields object(std::string_view name) const {
    const nlohmann::json &v = get(name);
    if (!v.is_object()) wrong(name, "is " + io::json_type_description(v) + ", expected an object");
    return JsonFields(v, source_, prefix_ + std::string(name) + ".");
  }

  // One id or a list of ids (eos_token_id).
  std::vector<std::int64_t> id_list(std::string_view name) const {
    if (!has(name)) return {};
    const nlohmann::json &v = get(name);
    if (!v.is_array()) return {integer(name)};
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_number_integer())
        wrong(std::string(name) + "[" + std::to_string(i) + "]",
              "is " + io::json_type_description(v[i]) + ", expected an integer");
      ids.push_back(v[i].get<std::int64_t>());
    }
    return ids;
  }

 private:
  const nlohmann::json &object_;
  const std::string &source_;
  std::string prefix_;
};

}  // namespace gptq::io
