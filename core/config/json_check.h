// The JSON half of validation: everything that only JSON text can get wrong.
// Parses the caller's text strictly (RFC 8259: no comments, no trailing commas,
// no trailing garbage, no duplicate keys, valid UTF-8) and checks it against a
// schema table: unknown fields, wrong JSON types, enum names, integers that do
// not fit their field. Value ranges are NOT checked here; they are checked on
// the binary flatbuffer (binary_check.h), so both encodings share that code.
//
// The result is normalized strict JSON for flatbuffers' own JSON parser, which
// is lenient (unquoted keys, numbers for enums and bools) and so never sees
// the caller's text:
//  - `null` for a field means "absent" (the default), as flatbuffers does for
//    optional fields; bindings that serialize unset options as null then work.
//  - an absent sub-table is filled in as {} (so its defaults apply and the
//    binary and object API always have it), unless the field is gptq_optional.
#pragma once

#include <flatbuffers/idl.h>

#include <string>
#include <string_view>

namespace gptq::config {

// Throws InvalidArgument "invalid <Table>: <path>: <what>" naming the field
// path (e.g. "mse.grid", "layers[3].loss") and what was expected. Empty or
// all-whitespace text means {} (all defaults); one trailing NUL is ignored.
std::string check_json(const flatbuffers::StructDef &table, std::string_view json);

}  // namespace gptq::config
