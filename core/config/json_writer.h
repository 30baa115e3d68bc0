// Binary flatbuffer -> JSON text with every field present, in schema order:
// scalars at their value or default, enums by name, absent strings as "",
// absent vectors as [], absent sub-tables filled in with their defaults
// (except gptq_optional ones, written as null).
//
// Written with the schema walk rather than flatbuffers' GenerateText because
// GenerateText prints float with 6 and double with 12 significant digits, which
// does not read back to the same value; here a float prints as its shortest
// round-trip text (0.1f -> 0.1) and a double as its own shortest text.
#pragma once

#include <flatbuffers/idl.h>

#include <string>

namespace gptq::config {

// `root` is the root table of a buffer that passed check_binary (verified,
// valid UTF-8, finite floats). Pretty-printed with 2-space indents, no NUL.
std::string write_json(const flatbuffers::StructDef &table, const flatbuffers::Table *root);

}  // namespace gptq::config
