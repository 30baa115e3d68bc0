// Reading the linear layers of a model as float32, whether the checkpoint
// holds them in floating point (<prefix>.weight) or GPTQ-quantized
// (<prefix>.qweight/.qzeros/.scales/.g_idx, see core/gptq_format/gptq_packing.h).
// This is what the CPU forward pass (and any reference) calls to get a
// layer's W [out_features][in_features] and bias.
//
// Quantized layers are checked against the checkpoint's quantization_config
// before anything is unpacked; every error is Error(Format) naming the
// directory, the tensor and what was expected:
//   qweight int32 [K*bits/32, N]     qzeros int32 [G, N*bits/32]
//   scales  fp16  [G, N]             g_idx  int32 [K] (optional: absent in
//                                    some old checkpoints, then k / group_size)
// with G = ceil(K / group_size), or 1 for group_size -1, and N, K the shape
// the architecture gives the layer's weight (when it knows the name).
// Zero points are read in the config's checkpoint_format, v1 ones as the
// tool that wrote them means them (v1_zero_reading below). Any group order
// is accepted (desc_act checkpoints have g_idx out of order; desc_act with
// static_groups has it in order). Scales must be finite (Error(Format)
// naming the tensor and the element).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/io/sharded_checkpoint.h"
#include "core/model/linear_weights.h"
#include "core/model/model_config.h"
#include "core/gptq_format/gptq_packing.h"

namespace gptq::model {

class Model;


// Whether the checkpoint holds `prefix` quantized (has <prefix>.qweight).
// A layer with both <prefix>.weight and <prefix>.qweight is refused
// (Error(Format) naming both): nothing says which of the two is meant.
bool is_quantized_linear(const io::ShardedCheckpoint &checkpoint, std::string_view prefix);
bool is_quantized_linear(const Model &model, std::string_view prefix);

// How v1 zero points of a checkpoint with this config are read
// (core/gptq_format/gptq_packing.h): GPTQModel's own whole-word conversion when
// meta names gptqmodel 0.9.0 or later (with its 3-bit constants before
// 7.0.0; an unreadable version counts as the newest), else per field.
quant::V1ZeroReading v1_zero_reading(const GptqQuantizationConfig &quantization);

// The packed tensors of a quantized linear, checked as above (format taken
// from the config). Throws Format when the model is not a GPTQ checkpoint.
quant::PackedGptq read_packed_linear(const Model &model, std::string_view prefix);

// The same for a caller that knows the layer's shape [n, k] and holds only
// the checkpoint and its quantization_config (the forward pass's loader).
quant::PackedGptq read_packed_linear(const io::ShardedCheckpoint &checkpoint,
                                     const GptqQuantizationConfig &quantization,
                                     std::string_view prefix, std::int64_t n, std::int64_t k);

// W = scales[g][n] * (q[k][n] - zero[g][n]), g = g_idx[k], in float32 with
// the fp16 scales, and the bias widened to float32.
LinearWeights dequantize_linear(const Model &model, std::string_view prefix);

// The layer as float32 either way: dequantize_linear for a quantized one,
// else <prefix>.weight (+ .bias) widened from fp16/bf16/fp32.
LinearWeights load_linear(const Model &model, std::string_view prefix);

}  // namespace gptq::model
