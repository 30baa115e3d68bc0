// QuantizeConfig.modules_to_skip, interpreted in one place: the pipeline
// (what to quantize), the work estimate and the checkpoint writer (what may
// stay float) ask the same question here.
#pragma once

#include <string_view>

#include "schema/gptq_generated.h"

namespace gptq::quant {

// Whether the linear layer `name` (e.g. "model.layers.0.mlp.down_proj") is to
// stay in floating point: an entry of modules_to_skip equals the name or is a
// dot-separated suffix of it ("mlp.down_proj" matches every block's
// down_proj, "proj" does not match "down_proj").
bool is_module_skipped(const schema::QuantizeConfigT &config, std::string_view name);

}  // namespace gptq::quant
