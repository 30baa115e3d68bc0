// The one reader of a quantized linear's tensors in a checkpoint:
//   qweight int32 [K*bits/32, N]     qzeros int32 [G, N*bits/32]
//   scales  fp16  [G, N]             g_idx  int32 [K] (optional: absent in
//                                    some old checkpoints, then k / group_size)
// with G = ceil(K / group_size), or 1 for group_size -1. Every tensor is
// checked against the quantization_config before anything is unpacked;
// every error is Error(Format) naming the directory, the tensor and what was
// expected. Zero points are read in the config's checkpoint_format, v1 ones
// as the tool that wrote them means them (v1_zero_reading). Any group order
// is accepted (desc_act checkpoints have g_idx out of order). Scales must be
// finite. The model (core/model/linear_weights.h) reads its quantized
// linears, and their biases, through here.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/gptq_format/gptq_packing.h"
#include "core/gptq_format/quantization_config.h"
#include "core/io/sharded_checkpoint.h"

namespace gptq::quant {

// Whether the checkpoint holds `prefix` quantized (has <prefix>.qweight).
// A layer with both <prefix>.weight and <prefix>.qweight is refused
// (Error(Format) naming both): nothing says which of the two is meant.
bool is_quantized_linear(const io::ShardedCheckpoint &checkpoint, std::string_view prefix);

// The packed tensors of the quantized linear `prefix` of shape [n, k],
// checked as above.
PackedGptq read_packed_linear(const io::ShardedCheckpoint &checkpoint, const GptqQuantizationConfig &quantization,
                              std::string_view prefix, std::int64_t n, std::int64_t k);

}  // namespace gptq::quant
