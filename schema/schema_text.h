// The text of schema/gptq.fbs, embedded at build time (schema_text.cpp.in).
#pragma once

namespace gptq::schema {

// NUL-terminated flatbuffers IDL; static storage.
const char *schema_text();

}  // namespace gptq::schema
