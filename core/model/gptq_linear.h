// A linear layer of an opened Model as float32, whether the checkpoint holds
// it in floating point (<prefix>.weight) or GPTQ-quantized: a convenience
// for callers that hold a Model and know the layer only by name (tests,
// references). The quantized tensors are read by the one reader
// (core/gptq_format/quantized_linear.h), with N, K the shape the
// architecture gives the layer's weight (when it knows the name, else what
// the tensors say); the bias by the one bias reader (linear_weights.h).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/gptq_format/gptq_packing.h"
#include "core/gptq_format/quantized_linear.h"
#include "core/model/linear_weights.h"
#include "core/model/model_config.h"

namespace gptq::model {

class Model;


using quant::is_quantized_linear;
// quant::is_quantized_linear on the model's checkpoint.
bool is_quantized_linear(const Model &model, std::string_view prefix);

// The packed tensors of a quantized linear, checked as above (format taken
// from the config). Throws Format when the model is not a GPTQ checkpoint.
quant::PackedGptq read_packed_linear(const Model &model, std::string_view prefix);

// W = scales[g][n] * (q[k][n] - zero[g][n]), g = g_idx[k], in float32 with
// the fp16 scales, and the bias (when the checkpoint has one) widened to float32.
LinearWeights dequantize_linear(const Model &model, std::string_view prefix);

// The layer as float32 either way: dequantize_linear for a quantized one,
// else <prefix>.weight (+ .bias) widened from fp16/bf16/fp32.
LinearWeights load_linear(const Model &model, std::string_view prefix);

}  // namespace gptq::model
