// Float tensors of a checkpoint widened to fp32, the compute type of the CPU
// forward pass. Checkpoints store F16, BF16 or F32; the mapped bytes may be
// unaligned, so elements are copied out rather than reinterpreted.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/safetensors_reader.h"
#include "core/io/sharded_checkpoint.h"
#include "core/tensor/shape_text.h"

namespace gptq::model {

// The tensor's values as fp32 (exact for all three types). Throws
// Error(Unsupported) naming the tensor for any other dtype, Error(Format)
// naming it and the element for a NaN or infinity (core/tensor/
// finite_scan.h): a weight that is not finite would only surface later as a
// perplexity of nan or garbage text.
std::vector<float> to_float32(const io::TensorView &tensor);

// Reads `name` from the checkpoint and checks its shape: Error(Format) naming
// the tensor, its shard and both shapes when they differ; Error(Format) when
// the tensor is absent.
std::vector<float> load_float32(const io::ShardedCheckpoint &checkpoint, std::string_view name,
                                std::span<const std::int64_t> shape);

}  // namespace gptq::model
