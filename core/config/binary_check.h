// The binary half of validation, and the one place value ranges are checked:
// JSON input is converted to a binary flatbuffer first and then checked here
// too, so a bound is enforced by the same code whatever the encoding.
//
// Checks, in order: the flatbuffers Verifier for the kind's table (structure,
// offsets, file identifier "GPTQ"); then a walk over every field through the
// schema: gptq_* bounds, enum values that name an enumerator, finite floats
// (JSON cannot carry NaN or infinity), strings that are valid UTF-8.
#pragma once

#include <cstdint>
#include <span>

#include "core/config/kind.h"

namespace gptq::config {

// Throws InvalidArgument "not a valid <Table> flatbuffer" when the buffer does
// not verify, or "invalid <Table>: <path>: <what>" for a bad value. `buffer`
// must be aligned to 8 bytes (flatbuffers reads scalars in place).
void check_binary(Kind kind, std::span<const uint8_t> buffer);

}  // namespace gptq::config
