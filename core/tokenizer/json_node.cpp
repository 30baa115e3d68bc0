#include "core/tokenizer/json_node.h"

namespace gptq::tokenizer {

const char *json_type_name(const nlohmann::json &v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "object";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "integer";
    case nlohmann::json::value_t::number_float: return "number";
    default: return "binary";
  }
}

void JsonNode::fail(Status status, const std::string &what) const {
  throw Error(status, file_ + ": " + path_ + ": " + what);
}

void JsonNode::expect_object() const {
  if (!value_->is_object())
    fail(Status::Format, std::string("expected an object, got ") + json_type_name(*value_));
}

void JsonNode::expect_array() const {
  if (!value_->is_array())
    fail(Status::Format, std::string("expected an array, got ") + json_type_name(*value_));
}

JsonNode JsonNode::at(std::string_view key) const {
  expect_object();
  auto it = value_->find(key);
  if (it == value_->end()) fail(Status::Format, "missing field \"" + std::string(key) + "\"");
  return JsonNode(*it, file_, path_ + "." + std::string(key));
}

std::optional<JsonNode> JsonNode::get(std::string_view key) const {
  expect_object();
  auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return std::nullopt;
  return JsonNode(*it, file_, path_ + "." + std::string(key));
}

JsonNode JsonNode::index(std::size_t i) const {
  expect_array();
  return JsonNode((*value_)[i], file_, path_ + "[" + std::to_string(i) + "]");
}

std::size_t JsonNode::size() const {
  if (!value_->is_array() && !value_->is_object())
    fail(Status::Format, std::string("expected an array or object, got ") + json_type_name(*value_));
  return value_->size();
}

std::string_view JsonNode::str_view() const {
  if (!value_->is_string())
    fail(Status::Format, std::string("expected a string, got ") + json_type_name(*value_));
  return value_->get_ref<const std::string &>();
}

std::string JsonNode::str() const { return std::string(str_view()); }

bool JsonNode::boolean() const {
  if (!value_->is_boolean())
    fail(Status::Format, std::string("expected a boolean, got ") + json_type_name(*value_));
  return value_->get<bool>();
}

int64_t JsonNode::integer() const {
  if (value_->is_number_unsigned()) {
    uint64_t u = value_->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) fail(Status::Format, "integer out of range");
    return static_cast<int64_t>(u);
  }
  if (!value_->is_number_integer())
    fail(Status::Format, std::string("expected an integer, got ") + json_type_name(*value_));
  return value_->get<int64_t>();
}

double JsonNode::number() const {
  if (!value_->is_number())
    fail(Status::Format, std::string("expected a number, got ") + json_type_name(*value_));
  return value_->get<double>();
}

bool JsonNode::bool_or(std::string_view key, bool fallback) const {
  auto v = get(key);
  return v ? v->boolean() : fallback;
}

std::string JsonNode::str_or(std::string_view key, std::string fallback) const {
  auto v = get(key);
  return v ? v->str() : fallback;
}

nlohmann::json parse_json(std::string_view text, const std::string &file) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error &e) {
    throw Error(Status::Format, file + ": invalid JSON at byte " + std::to_string(e.byte) +
                                    ": " + e.what());
  } catch (const nlohmann::json::exception &e) {
    throw Error(Status::Format, file + ": invalid JSON: " + e.what());
  }
}

}  // namespace gptq::tokenizer
