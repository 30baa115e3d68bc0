// A solver or RTN result (core/quant/quant_result.h) packed into the
// checkpoint tensors (core/gptq_format/gptq_packing.h): the one place where
// the algorithm's output meets the format, above both.
#pragma once

#include "core/gptq_format/gptq_packing.h"
#include "core/quant/quant_result.h"

namespace gptq::quant {

// pack_gptq over the result's arrays; InvalidArgument when their sizes do
// not match its rows, cols and groups.
PackedGptq pack_gptq(const QuantResult &r, CheckpointFormat format);

}  // namespace gptq::quant
