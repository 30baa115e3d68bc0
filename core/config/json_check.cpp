#include "core/config/json_check.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "core/config/field_path.h"
#include "core/config/scalar.h"
#include "core/config/schema_model.h"
#include "core/base/error.h"

namespace gptq::config {
namespace {

// ordered_json keeps the caller's key order, so the first bad field reported
// is the first one in the text.
using Json = nlohmann::ordered_json;

// How a JSON value is described in a message: its type, and the value itself
// when it is short enough to help.
std::string describe(const Json &v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "number " + v.dump();
    case Json::value_t::string: {
      std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
      if (s.size() > 40) s = s.substr(0, 36) + "...\"";
      return "string " + s;
    }
    case Json::value_t::array: return "an array";
    case Json::value_t::object: return "an object";
    default: return "an unexpected JSON value";
  }
}

std::string enum_names(const flatbuffers::EnumDef &e) {
  std::string out;
  for (const flatbuffers::EnumVal *v : e.Vals()) {
    if (!out.empty()) out += ", ";
    out += "\"" + v->name + "\"";
  }
  return out;
}

std::string field_names(const flatbuffers::StructDef &table) {
  std::string out;
  for (const flatbuffers::FieldDef *f : table.fields.vec) {
    if (f->deprecated) continue;
    if (!out.empty()) out += ", ";
    out += f->name;
  }
  return out;
}

class Checker {
 public:
  explicit Checker(const flatbuffers::StructDef &root) : root_(root) {}

  [[noreturn]] void error(const std::string &path, const std::string &what) const {
    fail(Status::InvalidArgument,
         "invalid " + root_.name + ": " + (path.empty() ? what : path + ": " + what));
  }

  void check_table(const flatbuffers::StructDef &table, Json &obj, const std::string &path) {
    std::vector<std::string> nulls;
    for (auto &[key, value] : obj.items()) {
      const flatbuffers::FieldDef *field = table.fields.Lookup(key);
      const std::string where = field_path(path, key);
      if (!field)
        error("", "unknown field \"" + where + "\" (fields of " + table.name + ": " +
                      field_names(table) + ")");
      if (field->deprecated) error(where, "this field is deprecated and no longer used");
      if (value.is_null()) {
        nulls.push_back(key);
        continue;
      }
      check_value(field->value.type, value, where);
    }
    for (const std::string &key : nulls) obj.erase(key);

    // Fill absent sub-tables so their defaults appear (and recurse into them).
    for (const flatbuffers::FieldDef *field : table.fields.vec) {
      const flatbuffers::Type &t = field->value.type;
      if (field->deprecated || t.base_type != flatbuffers::BASE_TYPE_STRUCT) continue;
      if (obj.contains(field->name) || SchemaModel::get().info(*field).optional_table) continue;
      Json &sub = obj[field->name] = Json::object();
      check_table(*t.struct_def, sub, field_path(path, field->name));
    }
  }

 private:
  void check_value(const flatbuffers::Type &type, Json &v, const std::string &path) {
    switch (type.base_type) {
      case flatbuffers::BASE_TYPE_STRING:
        if (!v.is_string()) error(path, "expected string, got " + describe(v));
        return;
      case flatbuffers::BASE_TYPE_VECTOR: {
        const flatbuffers::Type element = type.VectorType();
        if (!v.is_array())
          error(path, "expected an array of " + element_name(element) + ", got " + describe(v));
        for (size_t i = 0; i < v.size(); ++i) check_value(element, v[i], element_path(path, i));
        return;
      }
      case flatbuffers::BASE_TYPE_STRUCT:
        if (!v.is_object())
          error(path, "expected an object (" + type.struct_def->name + "), got " + describe(v));
        check_table(*type.struct_def, v, path);
        return;
      default:
        if (type.enum_def) return check_enum(*type.enum_def, v, path);
        if (type.base_type == flatbuffers::BASE_TYPE_BOOL) {
          if (!v.is_boolean()) error(path, "expected bool (true or false), got " + describe(v));
          return;
        }
        return check_number(type.base_type, v, path);
    }
  }

  static std::string element_name(const flatbuffers::Type &t) {
    if (t.enum_def) return t.enum_def->name;
    if (t.base_type == flatbuffers::BASE_TYPE_STRUCT) return t.struct_def->name;
    return std::string(type_name(t.base_type));
  }

  void check_enum(const flatbuffers::EnumDef &e, const Json &v, const std::string &path) const {
    if (!v.is_string())
      error(path, "expected a " + e.name + " name (" + enum_names(e) + "), got " + describe(v));
    if (!e.Lookup(v.get<std::string>()))
      error(path, v.dump(-1, ' ', false, Json::error_handler_t::replace) + " is not a " + e.name +
                      " (allowed: " + enum_names(e) + ")");
  }

  void check_number(flatbuffers::BaseType type, const Json &v, const std::string &path) const {
    const std::string name(type_name(type));
    if (!v.is_number()) error(path, "expected " + name + ", got " + describe(v));
    if (repr_of(type) == Scalar::Repr::Floating) {
      const double d = v.get<double>();
      // A literal beyond double's range parses as infinity (dumped as null).
      if (!std::isfinite(d)) error(path, "the number is too large for a double, let alone " + name);
      if (type == flatbuffers::BASE_TYPE_FLOAT && std::fabs(d) > std::numeric_limits<float>::max())
        error(path, v.dump() + " does not fit in " + name);
      return;
    }
    // Integers: JSON numbers with a fraction or exponent are not integers,
    // except integral values beyond 64 bits, which nlohmann holds as double.
    if (v.is_number_float()) {
      constexpr double kTwoTo63 = 9223372036854775808.0;
      const double d = v.get<double>();
      if (std::trunc(d) == d && std::fabs(d) >= kTwoTo63)
        error(path, v.dump() + " does not fit in " + name);
      error(path, "expected " + name + " (an integer), got " + describe(v));
    }
    const bool ok = v.is_number_unsigned() ? fits_unsigned(type, v.get<uint64_t>())
                                           : fits(type, v.get<int64_t>());
    if (!ok) error(path, v.dump() + " does not fit in " + name);
  }

  const flatbuffers::StructDef &root_;
};

// The NaN or Infinity literal a failed parse stopped in, if it was one:
// Python's json.dumps writes them for float('nan') and float('inf'), but JSON
// has no such numbers. `stop` is where the parser gave up.
std::optional<std::string> non_finite_literal(std::string_view text, std::size_t stop) {
  std::size_t begin = std::min(stop, text.size());
  while (begin > 0 && std::string_view(":,[ \t\r\n").find(text[begin - 1]) == std::string_view::npos) --begin;
  const std::string_view rest = text.substr(begin);
  for (std::string_view literal : {"NaN", "-NaN", "Infinity", "-Infinity", "nan", "-nan", "inf", "-inf"})
    if (rest.starts_with(literal)) return std::string(literal);
  return std::nullopt;
}

// The error for text nlohmann could not parse, naming the field it was in
// when that helps.
[[noreturn]] void parse_failed(const flatbuffers::StructDef &table, std::string_view text,
                               const std::string &where, const Json::exception &e) {
  const std::string field = where.empty() ? "" : where + ": ";
  if (const auto *pe = dynamic_cast<const Json::parse_error *>(&e))
    if (const auto literal = non_finite_literal(text, pe->byte > 0 ? pe->byte - 1 : 0))
      fail(Status::InvalidArgument,
           "invalid " + table.name + ": " + field + *literal + " is not a JSON number; give a finite number");
  // Drop nlohmann's "[json.exception.parse_error.101] " tag; keep the position.
  std::string what = e.what();
  if (const size_t close = what.find("] "); what.rfind("[json.", 0) == 0 && close != std::string::npos)
    what = what.substr(close + 2);
  // A number literal beyond double's range ("1e999") is out_of_range, not a parse error.
  if (dynamic_cast<const Json::out_of_range *>(&e))
    fail(Status::InvalidArgument, "invalid " + table.name + ": " + field + what);
  fail(Status::InvalidArgument, "invalid " + table.name + " JSON: " + what);
}

// Strict parse with duplicate keys rejected (nlohmann would keep the last).
Json parse_strict(const flatbuffers::StructDef &table, std::string_view text) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::vector<std::string> open_keys;       // per open object, the key being read
  auto on_event = [&](int, Json::parse_event_t event, Json &parsed) {
    if (event == Json::parse_event_t::object_start) {
      keys.emplace_back();
      open_keys.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      keys.pop_back();
      open_keys.pop_back();
    } else if (event == Json::parse_event_t::key) {
      const std::string &key = parsed.get_ref<const std::string &>();
      open_keys.back() = key;
      if (!keys.back().insert(key).second)
        fail(Status::InvalidArgument,
             "invalid " + table.name + ": field \"" + key + "\" appears more than once");
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), on_event);
  } catch (const Json::exception &e) {
    std::string where;  // "calibration.nsamples": the field whose value failed
    for (const std::string &key : open_keys)
      if (!key.empty()) where = field_path(where, key);
    parse_failed(table, text, where, e);
  }
}

}  // namespace

std::string check_json(const flatbuffers::StructDef &table, std::string_view json) {
  if (!json.empty() && json.back() == '\0') json.remove_suffix(1);
  // nlohmann's lexer takes a NUL byte for the end of input, which would let
  // anything after one through unread.
  if (const size_t nul = json.find('\0'); nul != std::string_view::npos)
    fail(Status::InvalidArgument,
         "invalid " + table.name + " JSON: NUL byte at offset " + std::to_string(nul));
  Json root = json.find_first_not_of(" \t\r\n") == std::string_view::npos
                  ? Json::object()
                  : parse_strict(table, json);
  Checker checker(table);
  if (!root.is_object()) checker.error("", "expected a JSON object, got " + describe(root));
  checker.check_table(table, root, "");
  return root.dump();
}

}  // namespace gptq::config
