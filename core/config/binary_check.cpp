#include "core/config/binary_check.h"

#include <cmath>
#include <string>

#include "core/config/field_path.h"
#include "core/config/kind_traits.h"
#include "core/config/scalar.h"
#include "core/config/schema_model.h"
#include "core/text/utf8.h"
#include "core/base/error.h"

namespace gptq::config {
namespace {

class Walker {
 public:
  explicit Walker(const flatbuffers::StructDef &root) : root_(root) {}

  void check_table(const flatbuffers::StructDef &table, const flatbuffers::Table &t,
                   const std::string &path) const {
    const SchemaModel &schema = SchemaModel::get();
    for (const flatbuffers::FieldDef *field : table.fields.vec) {
      if (field->deprecated) continue;
      const flatbuffers::Type &type = field->value.type;
      const FieldInfo &info = schema.info(*field);
      const std::string where = field_path(path, field->name);
      const flatbuffers::voffset_t off = field->value.offset;
      if (flatbuffers::IsScalar(type.base_type)) {
        check_scalar(type, info, read_scalar_field(*field, &t, info.default_value), where);
      } else if (type.base_type == flatbuffers::BASE_TYPE_STRING) {
        if (const auto *s = t.GetPointer<const flatbuffers::String *>(off)) check_string(*s, where);
      } else if (type.base_type == flatbuffers::BASE_TYPE_STRUCT) {
        if (const auto *sub = t.GetPointer<const flatbuffers::Table *>(off))
          check_table(*type.struct_def, *sub, where);
      } else if (type.base_type == flatbuffers::BASE_TYPE_VECTOR) {
        check_vector(type.VectorType(), info, t, off, where);
      }
    }
  }

 private:
  [[noreturn]] void error(const std::string &path, const std::string &what) const {
    fail(Status::InvalidArgument, "invalid " + root_.name + ": " + path + ": " + what);
  }

  void check_scalar(const flatbuffers::Type &type, const FieldInfo &info, const Scalar &v,
                    const std::string &path) const {
    if (type.enum_def) {
      const int64_t n = v.repr() == Scalar::Repr::Signed ? v.i : static_cast<int64_t>(v.u);
      if (!type.enum_def->ReverseLookup(n, false))
        error(path, v.to_string() + " is not a value of enum " + type.enum_def->name);
      return;
    }
    if (v.repr() == Scalar::Repr::Floating && !std::isfinite(v.f))
      error(path, v.to_string() + " is not a finite number");
    if (auto why = info.rules.violation(v)) error(path, *why);
  }

  void check_string(const flatbuffers::String &s, const std::string &path) const {
    if (!utf8::is_valid(s.string_view())) error(path, "string is not valid UTF-8");
  }

  void check_vector(const flatbuffers::Type &element, const FieldInfo &info,
                    const flatbuffers::Table &t, flatbuffers::voffset_t off,
                    const std::string &path) const {
    // Every vector starts with its element count, whatever the element type.
    const auto *raw = t.GetPointer<const flatbuffers::Vector<uint8_t> *>(off);
    if (!raw) return;
    const size_t n = raw->size();
    if (flatbuffers::IsScalar(element.base_type)) {
      for (size_t i = 0; i < n; ++i)
        check_scalar(element, info, read_scalar_element(element.base_type, raw->Data(), i),
                     element_path(path, i));
    } else if (element.base_type == flatbuffers::BASE_TYPE_STRING) {
      const auto *v =
          t.GetPointer<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>> *>(off);
      for (size_t i = 0; i < n; ++i)
        check_string(*v->Get(static_cast<flatbuffers::uoffset_t>(i)), element_path(path, i));
    } else {
      const auto *v =
          t.GetPointer<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::Table>> *>(off);
      for (size_t i = 0; i < n; ++i)
        check_table(*element.struct_def, *v->Get(static_cast<flatbuffers::uoffset_t>(i)),
                    element_path(path, i));
    }
  }

  const flatbuffers::StructDef &root_;
};

}  // namespace

void check_binary(Kind kind, std::span<const uint8_t> buffer) {
  const flatbuffers::StructDef &table = SchemaModel::get().table(kind);
  if (!verify_buffer(kind, buffer))
    fail(Status::InvalidArgument,
         "not a valid " + table.name + " flatbuffer (" + std::to_string(buffer.size()) + " bytes)");
  const auto *root = flatbuffers::GetRoot<flatbuffers::Table>(buffer.data());
  Walker(table).check_table(table, *root, "");
}

}  // namespace gptq::config
