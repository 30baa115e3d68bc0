#include "core/config/codec.h"

#include <cstring>

#include "core/config/json_check.h"
#include "core/config/json_writer.h"
#include "core/config/schema_model.h"
#include "core/base/error.h"

namespace gptq::config {
namespace {

// flatbuffers reads scalars in place, so the buffer must be aligned like the
// largest scalar; a caller's buffer (e.g. from the C API) may not be.
class Aligned {
 public:
  explicit Aligned(std::span<const uint8_t> in) : view_(in) {
    if (reinterpret_cast<uintptr_t>(in.data()) % alignof(uint64_t) == 0) return;
    storage_.resize((in.size() + 7) / 8);
    std::memcpy(storage_.data(), in.data(), in.size());
    view_ = {reinterpret_cast<const uint8_t *>(storage_.data()), in.size()};
  }
  std::span<const uint8_t> bytes() const { return view_; }

 private:
  std::vector<uint64_t> storage_;
  std::span<const uint8_t> view_;
};

std::string_view as_text(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char *>(bytes.data()), bytes.size()};
}

}  // namespace

std::vector<uint8_t> json_to_binary(Kind kind, std::string_view json) {
  const SchemaModel &schema = SchemaModel::get();
  const flatbuffers::StructDef &table = schema.table(kind);
  const std::string normalized = check_json(table, json);

  std::unique_ptr<flatbuffers::Parser> parser = schema.json_parser(kind);
  // Every scalar written, defaults too: a binary config keeps its meaning if
  // a later version changes a default (flatbuffers omits default values).
  parser->builder_.ForceDefaults(true);
  // check_json leaves nothing flatbuffers should reject; if it still does,
  // its message (with position) is the best there is.
  if (!parser->Parse(normalized.c_str()))
    fail(Status::InvalidArgument, "invalid " + table.name + ": " + parser->error_);
  const uint8_t *data = parser->builder_.GetBufferPointer();
  std::vector<uint8_t> out(data, data + parser->builder_.GetSize());
  check_binary(kind, out);
  return out;
}

std::string binary_to_json(Kind kind, std::span<const uint8_t> binary) {
  const flatbuffers::StructDef &table = SchemaModel::get().table(kind);
  if (binary.empty()) return write_json(table, nullptr);
  const Aligned aligned(binary);
  check_binary(kind, aligned.bytes());
  return write_json(table, flatbuffers::GetRoot<flatbuffers::Table>(aligned.bytes().data()));
}

std::vector<uint8_t> convert(Kind kind, std::span<const uint8_t> in, Encoding in_enc,
                             Encoding out_enc) {
  kind_table_name(kind);
  check_encoding(in_enc);
  check_encoding(out_enc);
  if (in_enc == Encoding::Json) {
    std::vector<uint8_t> binary = json_to_binary(kind, as_text(in));
    if (out_enc == Encoding::Binary) return binary;
    const std::string json = binary_to_json(kind, binary);
    return {json.begin(), json.end()};
  }
  if (out_enc == Encoding::Json) {
    const std::string json = binary_to_json(kind, in);
    return {json.begin(), json.end()};
  }
  if (in.empty()) return json_to_binary(kind, "");
  check_binary(kind, Aligned(in).bytes());
  return {in.begin(), in.end()};
}

}  // namespace gptq::config
