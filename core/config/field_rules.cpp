#include "core/config/field_rules.h"

#include "core/base/error.h"

namespace gptq::config {
namespace {

constexpr const char *kAllowed = "gptq_allowed";
constexpr const char *kMin = "gptq_min";
constexpr const char *kMax = "gptq_max";
constexpr const char *kOr = "gptq_or";

[[noreturn]] void schema_error(const flatbuffers::StructDef &table,
                               const flatbuffers::FieldDef &field, const std::string &what) {
  fail(Status::Internal, "schema/gptq.fbs: " + table.name + "." + field.name + ": " + what);
}

const std::string *attribute(const flatbuffers::FieldDef &field, const char *name) {
  const flatbuffers::Value *v = field.attributes.Lookup(name);
  return v ? &v->constant : nullptr;
}

Scalar parse_bound(const flatbuffers::StructDef &table, const flatbuffers::FieldDef &field,
                   flatbuffers::BaseType type, const char *attr, std::string_view text) {
  std::optional<Scalar> s = parse_scalar(type, text);
  if (!s)
    schema_error(table, field,
                 std::string(attr) + " \"" + std::string(text) + "\" is not a " +
                     std::string(type_name(type)));
  return *s;
}

}  // namespace

std::optional<std::string> FieldRules::violation(const Scalar &value) const {
  if (!allowed.empty()) {
    for (const Scalar &a : allowed)
      if (value == a) return std::nullopt;
    return value.to_string() + " is not allowed (allowed: " + allowed_text + ")";
  }
  if (or_value && value == *or_value) return std::nullopt;
  if ((min && value.less_than(*min)) || (max && max->less_than(value)))
    return value.to_string() + " is out of range (allowed: " + allowed_text + ")";
  return std::nullopt;
}

FieldRules read_field_rules(const flatbuffers::StructDef &table,
                            const flatbuffers::FieldDef &field) {
  const std::string *allowed = attribute(field, kAllowed);
  const std::string *min = attribute(field, kMin);
  const std::string *max = attribute(field, kMax);
  const std::string *or_value = attribute(field, kOr);
  FieldRules rules;
  if (!allowed && !min && !max && !or_value) return rules;

  // Bounds on a vector apply to its elements.
  const flatbuffers::Type &t = field.value.type;
  const flatbuffers::BaseType type =
      t.base_type == flatbuffers::BASE_TYPE_VECTOR ? t.element : t.base_type;
  if (!flatbuffers::IsScalar(type) || type == flatbuffers::BASE_TYPE_BOOL ||
      (t.base_type == flatbuffers::BASE_TYPE_VECTOR ? t.VectorType() : t).enum_def)
    schema_error(table, field,
                 "gptq_* bounds need a numeric field (not bool, enum or " +
                     std::string(type_name(type)) + ")");

  if (allowed) {
    if (min || max || or_value)
      schema_error(table, field, "gptq_allowed cannot be combined with gptq_min/max/or");
    std::string_view rest = *allowed;
    while (true) {
      const size_t bar = rest.find('|');
      const std::string_view item = rest.substr(0, bar);
      rules.allowed.push_back(parse_bound(table, field, type, kAllowed, item));
      if (!rules.allowed_text.empty()) rules.allowed_text += ", ";
      rules.allowed_text += std::string(item);
      if (bar == std::string_view::npos) break;
      rest.remove_prefix(bar + 1);
    }
    return rules;
  }

  if (!min && !max) schema_error(table, field, "gptq_or needs gptq_min or gptq_max");
  if (min) rules.min = parse_bound(table, field, type, kMin, *min);
  if (max) rules.max = parse_bound(table, field, type, kMax, *max);
  if (rules.min && rules.max && rules.max->less_than(*rules.min))
    schema_error(table, field, "gptq_min is greater than gptq_max");
  if (or_value) {
    rules.or_value = parse_bound(table, field, type, kOr, *or_value);
    rules.allowed_text = *or_value + " or ";
  }
  if (min && max)
    rules.allowed_text += *min + ".." + *max;
  else if (min)
    rules.allowed_text += ">= " + *min;
  else
    rules.allowed_text += "<= " + *max;
  return rules;
}

}  // namespace gptq::config
