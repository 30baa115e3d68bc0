// The one place where the schema's QuantizeConfig (what callers pass as JSON)
// becomes the solver's plain QuantOptions and the packer's CheckpointFormat,
// and where modules_to_skip is interpreted. Everything that turns a config
// into quantization behaviour goes through here, so the C API, the pipeline
// and the checkpoint writer cannot disagree.
#pragma once

#include <string_view>

#include "core/gptq_format/gptq_packing.h"
#include "core/quant/quant_options.h"
#include "schema/gptq_generated.h"

namespace gptq::quant {

// Field by field; an absent mse sub-table means its defaults. The config has
// already been range-checked by the schema validator; what depends on the
// matrix (group_size dividing cols) is checked by validate_options.
QuantOptions quant_options(const schema::QuantizeConfigT &config);

// "gptq" -> V1, "gptq_v2" -> V2.
CheckpointFormat checkpoint_format(const schema::QuantizeConfigT &config);

// Whether the linear layer `name` (e.g. "model.layers.0.mlp.down_proj") is to
// stay in floating point: an entry of modules_to_skip equals the name or is a
// dot-separated suffix of it ("mlp.down_proj" matches every block's
// down_proj, "proj" does not match "down_proj").
bool is_module_skipped(const schema::QuantizeConfigT &config, std::string_view name);

}  // namespace gptq::quant
