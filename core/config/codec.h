// The config codec: JSON text and binary flatbuffers of the schema's tables,
// validated against schema/gptq.fbs, converted either way. This is what the C
// API's config functions wrap; C++ code that wants the values uses typed.h.
//
// Validation (the same for both encodings, see json_check.h and
// binary_check.h): unknown fields, wrong JSON types, values that do not fit
// their type, enum names, and the gptq_* bounds of the schema. Every error is
// gptq::Error(Status::InvalidArgument) with a message naming the table and the
// field path, e.g. "invalid QuantizeConfig: bits: 5 is not allowed (allowed:
// 2, 3, 4, 8)".
//
// Empty input (zero bytes, or JSON that is only whitespace) means "all
// defaults" in either encoding.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/binary_check.h"
#include "core/config/kind.h"

namespace gptq::config {

// Validated JSON -> binary flatbuffer (file identifier "GPTQ"). Absent
// sub-tables are written as empty tables (so they read back as their
// defaults) unless gptq_optional; `null` for a field means absent.
std::vector<uint8_t> json_to_binary(Kind kind, std::string_view json);

// Verified, range-checked binary -> JSON with every field present
// (json_writer.h says how absent ones are written). Pretty-printed, no NUL.
// The buffer may have any alignment (it is copied when not 8-byte aligned).
std::string binary_to_json(Kind kind, std::span<const uint8_t> binary);

// Any encoding to any encoding, for the C API. JSON output has no trailing
// NUL. Binary to binary returns the input unchanged once it has passed the
// checks (or the all-defaults buffer for empty input).
std::vector<uint8_t> convert(Kind kind, std::span<const uint8_t> in, Encoding in_enc,
                             Encoding out_enc);

}  // namespace gptq::config
