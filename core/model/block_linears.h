// A model's decoder-block linears by name, in the form the checkpoint writer
// takes them (core/gptq_format/block_linears.h).
#pragma once

#include "core/gptq_format/block_linears.h"
#include "core/model/model_config.h"

namespace gptq::model {

// The architecture's sequential groups and each block's prefix; empty for a
// spec without an architecture.
io::BlockLinears block_linears(const ModelSpec &spec);

}  // namespace gptq::model
