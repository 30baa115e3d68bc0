#include "core/config/json_writer.h"

#include <nlohmann/json.hpp>

#include "core/config/scalar.h"
#include "core/config/schema_model.h"

namespace gptq::config {
namespace {

using Json = nlohmann::ordered_json;

Json scalar_json(const flatbuffers::Type &type, const Scalar &v) {
  if (type.enum_def) {
    const int64_t n = v.repr() == Scalar::Repr::Signed ? v.i : static_cast<int64_t>(v.u);
    return type.enum_def->ReverseLookup(n, false)->name;  // checked by check_binary
  }
  if (type.base_type == flatbuffers::BASE_TYPE_BOOL) return v.u != 0;
  switch (v.repr()) {
    case Scalar::Repr::Signed: return v.i;
    case Scalar::Repr::Unsigned: return v.u;
    case Scalar::Repr::Floating:
      return type.base_type == flatbuffers::BASE_TYPE_FLOAT
                 ? float_as_short_double(static_cast<float>(v.f))
                 : v.f;
  }
  return nullptr;
}

Json table_json(const flatbuffers::StructDef &table, const flatbuffers::Table *t);

Json vector_json(const flatbuffers::Type &element, const flatbuffers::Table *t,
                 flatbuffers::voffset_t off) {
  Json out = Json::array();
  const auto *raw = t ? t->GetPointer<const flatbuffers::Vector<uint8_t> *>(off) : nullptr;
  if (!raw) return out;
  const flatbuffers::uoffset_t n = raw->size();
  if (flatbuffers::IsScalar(element.base_type)) {
    for (flatbuffers::uoffset_t i = 0; i < n; ++i)
      out.push_back(scalar_json(element, read_scalar_element(element.base_type, raw->Data(), i)));
  } else if (element.base_type == flatbuffers::BASE_TYPE_STRING) {
    const auto *v =
        t->GetPointer<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>> *>(off);
    for (flatbuffers::uoffset_t i = 0; i < n; ++i) out.push_back(v->Get(i)->str());
  } else {
    const auto *v =
        t->GetPointer<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::Table>> *>(off);
    for (flatbuffers::uoffset_t i = 0; i < n; ++i)
      out.push_back(table_json(*element.struct_def, v->Get(i)));
  }
  return out;
}

// `t` may be null: an absent sub-table, written with its defaults.
Json table_json(const flatbuffers::StructDef &table, const flatbuffers::Table *t) {
  const SchemaModel &schema = SchemaModel::get();
  Json out = Json::object();
  for (const flatbuffers::FieldDef *field : table.fields.vec) {
    if (field->deprecated) continue;
    const flatbuffers::Type &type = field->value.type;
    const FieldInfo &info = schema.info(*field);
    const flatbuffers::voffset_t off = field->value.offset;
    Json &slot = out[field->name];
    if (flatbuffers::IsScalar(type.base_type)) {
      slot = scalar_json(type, read_scalar_field(*field, t, info.default_value));
    } else if (type.base_type == flatbuffers::BASE_TYPE_STRING) {
      const auto *s = t ? t->GetPointer<const flatbuffers::String *>(off) : nullptr;
      slot = s ? s->str() : std::string();
    } else if (type.base_type == flatbuffers::BASE_TYPE_VECTOR) {
      slot = vector_json(type.VectorType(), t, off);
    } else {
      const auto *sub = t ? t->GetPointer<const flatbuffers::Table *>(off) : nullptr;
      if (sub || !info.optional_table) slot = table_json(*type.struct_def, sub);
    }
  }
  return out;
}

}  // namespace

std::string write_json(const flatbuffers::StructDef &table, const flatbuffers::Table *root) {
  return table_json(table, root).dump(2);
}

}  // namespace gptq::config
