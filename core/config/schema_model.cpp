#include "core/config/schema_model.h"

#include <string>

#include "core/base/error.h"
#include "schema/schema_text.h"

namespace gptq::config {
namespace {

constexpr const char *kOptional = "gptq_optional";

[[noreturn]] void schema_error(const std::string &what) {
  fail(Status::Internal, "schema/gptq.fbs: " + what);
}

void parse_schema(flatbuffers::Parser &parser) {
  if (!parser.Parse(gptq::schema::schema_text()))
    schema_error("embedded schema does not parse: " + parser.error_);
}

// Scalars (plain or enum), strings, tables and vectors of those: the types the
// codec's checker and writer handle. Unions, structs and arrays are not used
// by the schema; meeting one is a schema change the codec must learn first.
bool supported_element(const flatbuffers::Type &t) {
  if (flatbuffers::IsScalar(t.base_type))
    return t.base_type != flatbuffers::BASE_TYPE_UTYPE && (!t.enum_def || !t.enum_def->is_union);
  return t.base_type == flatbuffers::BASE_TYPE_STRING ||
         (t.base_type == flatbuffers::BASE_TYPE_STRUCT && is_table(t.struct_def));
}

}  // namespace

const SchemaModel &SchemaModel::get() {
  static const SchemaModel model;
  return model;
}

SchemaModel::SchemaModel() {
  parse_schema(parser_);
  for (const flatbuffers::StructDef *def : parser_.structs_.vec) load_table(*def);
  for (Kind kind : kAllKinds) {
    const std::string name(kind_table_name(kind));
    if (!is_table(parser_.structs_.Lookup("gptq.schema." + name)))
      schema_error("table " + name + " is missing");
  }
}

void SchemaModel::load_table(const flatbuffers::StructDef &table) {
  if (table.fixed) schema_error("struct " + table.name + ": structs are not supported");
  for (const flatbuffers::FieldDef *field : table.fields.vec) {
    const flatbuffers::Type &t = field->value.type;
    const std::string where = table.name + "." + field->name;
    const bool vector = t.base_type == flatbuffers::BASE_TYPE_VECTOR;
    if (!supported_element(vector ? t.VectorType() : t))
      schema_error(where + ": type not supported by the config codec");

    FieldInfo info;
    if (flatbuffers::IsScalar(t.base_type)) {
      std::optional<Scalar> def = parse_scalar(t.base_type, field->value.constant);
      if (!def) schema_error(where + ": default \"" + field->value.constant + "\" does not parse");
      if (t.enum_def &&
          !t.enum_def->ReverseLookup(
              def->repr() == Scalar::Repr::Signed ? def->i : static_cast<int64_t>(def->u), false))
        schema_error(where + ": default is not a value of enum " + t.enum_def->name);
      info.default_value = *def;
    }
    info.rules = read_field_rules(table, *field);
    if (flatbuffers::IsScalar(t.base_type) && info.rules.violation(info.default_value))
      schema_error(where + ": default " + info.default_value.to_string() +
                   " breaks its own bounds (" + info.rules.allowed_text + ")");
    if (field->attributes.Lookup(kOptional)) {
      if (t.base_type != flatbuffers::BASE_TYPE_STRUCT)
        schema_error(where + ": gptq_optional applies to sub-tables only");
      info.optional_table = true;
    }
    info_.emplace(field, std::move(info));
  }
}

const flatbuffers::StructDef &SchemaModel::table(Kind kind) const {
  const std::string name(kind_table_name(kind));
  return *parser_.structs_.Lookup("gptq.schema." + name);
}

const FieldInfo &SchemaModel::info(const flatbuffers::FieldDef &field) const {
  auto it = info_.find(&field);
  if (it == info_.end()) fail(Status::Internal, "config: field " + field.name + " not in schema");
  return it->second;
}

std::unique_ptr<flatbuffers::Parser> SchemaModel::json_parser(Kind kind) const {
  auto parser = std::make_unique<flatbuffers::Parser>();
  parse_schema(*parser);
  const std::string name(kind_table_name(kind));
  if (!parser->SetRootType(name.c_str())) schema_error("no table " + name);
  return parser;
}

}  // namespace gptq::config
