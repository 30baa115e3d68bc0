// The one place where the schema's QuantizeConfig (what callers pass as JSON)
// becomes the solver's plain QuantOptions, so the C API and the pipeline
// cannot disagree. The packer's CheckpointFormat and modules_to_skip are
// the format's (core/gptq_format/checkpoint_format.h, modules_to_skip.h).
#pragma once

#include "core/quant/quant_options.h"
#include "schema/gptq_generated.h"

namespace gptq::quant {

// Field by field; an absent mse sub-table means its defaults. The config has
// already been range-checked by the schema validator; what depends on the
// matrix (group_size dividing cols) is checked by validate_options.
QuantOptions quant_options(const schema::QuantizeConfigT &config);

}  // namespace gptq::quant
