// A read-only view of one node of a parsed JSON file that knows where it is
// ("tokenizer.json: $.model.merges[3]"), so every "wrong type" or "missing field"
// error names the file and the JSON path. Internal to core/tokenizer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/base/error.h"

namespace gptq::tokenizer {

class JsonNode {
 public:
  JsonNode(const nlohmann::json &value, std::string file, std::string path)
      : value_(&value), file_(std::move(file)), path_(std::move(path)) {}

  const nlohmann::json &raw() const { return *value_; }
  const std::string &file() const { return file_; }
  const std::string &path() const { return path_; }

  bool is_null() const { return value_->is_null(); }
  bool is_object() const { return value_->is_object(); }
  bool is_array() const { return value_->is_array(); }
  bool is_string() const { return value_->is_string(); }
  bool has(std::string_view key) const {
    return value_->is_object() && value_->find(key) != value_->end();
  }

  // A required member (this node must be an object and have it).
  JsonNode at(std::string_view key) const;
  // A member that may be absent; JSON null counts as absent.
  std::optional<JsonNode> get(std::string_view key) const;
  JsonNode index(std::size_t i) const;
  std::size_t size() const;  // of an array or object

  std::string str() const;
  std::string_view str_view() const;
  bool boolean() const;
  int64_t integer() const;
  double number() const;

  // Typed members with defaults for absent/null ones.
  bool bool_or(std::string_view key, bool fallback) const;
  std::string str_or(std::string_view key, std::string fallback) const;

  [[noreturn]] void fail(Status status, const std::string &what) const;
  void expect_object() const;
  void expect_array() const;

 private:
  const nlohmann::json *value_;
  std::string file_;
  std::string path_;
};

const char *json_type_name(const nlohmann::json &v);

// Parses `text` (the contents of `file`); syntax errors become Status::Format naming
// the file and the byte offset.
nlohmann::json parse_json(std::string_view text, const std::string &file);

}  // namespace gptq::tokenizer
