// The checkpoint format of a GPTQ checkpoint's zero points, in its one C++
// form: "gptq" (v1, zero - 1 stored; also an absent checkpoint_format) and
// "gptq_v2" (the zero itself; core/gptq_format/gptq_packing.h). Its names in
// quantization_config and the schema's enum (what callers pass) are
// converted here and nowhere else.
#pragma once

#include <optional>
#include <string_view>

#include "schema/gptq_generated.h"

namespace gptq::quant {

enum class CheckpointFormat { V1, V2 };

// "gptq" or "gptq_v2", as quantization_config writes it.
std::string_view checkpoint_format_name(CheckpointFormat format);

// The format a quantization_config name stands for; nullopt for any other
// name (marlin, gptq_p, ...).
std::optional<CheckpointFormat> parse_checkpoint_format(std::string_view name);

CheckpointFormat checkpoint_format(schema::CheckpointFormat format);
schema::CheckpointFormat schema_checkpoint_format(CheckpointFormat format);

// The format a QuantizeConfig asks for.
CheckpointFormat checkpoint_format(const schema::QuantizeConfigT &config);

}  // namespace gptq::quant
