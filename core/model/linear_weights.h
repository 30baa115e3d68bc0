// One linear sublayer's weights in fp32, as the CPU forward pass uses them,
// loaded from either kind of checkpoint:
//   - float: "<prefix>.weight" [out, in] (F16/BF16/F32) and "<prefix>.bias";
//   - HF GPTQ: "<prefix>.qweight/.qzeros/.scales/.g_idx" (core/quant/
//     gptq_packing.h), dequantized to scales * (code - zero) with the zero
//     convention of quantization_config.checkpoint_format (v1 "gptq" or
//     "gptq_v2") and each input column's group from g_idx, so act-order
//     (desc_act) checkpoints come out in the original column order.
// A GPTQ checkpoint may keep some linears in float (modules_to_skip): the
// loader takes "<prefix>.weight" when it is there, the packed tensors otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor/held_matrix.h"

#include "core/gptq_format/gptq_packing.h"
#include "core/io/sharded_checkpoint.h"
#include "core/model/model_config.h"

namespace gptq::model {

// What the loaders do with a GPTQ linear: dequantize it to fp32 `weight`
// (the CPU forward pass, the calibration pipeline), or hand it over unpacked
// in `gptq` with `weight` empty (an engine with kernels of its own for the
// quantized layer: the CUDA runtime).
enum class QuantizedLinears { Dequantize, Unpack };

struct LinearWeights {
  std::int64_t out_features = 0;
  std::int64_t in_features = 0;
  std::vector<float> weight;  // [out_features, in_features] row-major, y = x W^T + b
  // The weight where an engine keeps it (a quantize engine's dequantized
  // result on its device, QuantizeEngine::solve), `weight` then empty: the
  // forward engine of that device runs it in place, others read it back.
  std::shared_ptr<const HeldMatrix> held;
  std::vector<float> bias;    // [out_features], or empty for none
  // With QuantizedLinears::Unpack and a GPTQ layer: the layer as the
  // checkpoint holds it (bits > 0); bits 0 otherwise.
  quant::UnpackedGptq gptq;
};

// Loads the linear `prefix` (e.g. "model.layers.0.self_attn.q_proj") of shape
// [out_features, in_features], with a bias when `has_bias`; without, a
// "<prefix>.bias" that is all zeros (AutoGPTQ 0.2-0.7 saved one on every
// quantized linear) is ignored. Throws Error(Format) naming the tensor for a
// missing tensor or a wrong shape, a non-zero bias the layer cannot have, a
// layer with both .weight and .qweight, or a NaN/infinity in its weights or
// scales; Error(Unsupported) for packed tensors in a checkpoint whose
// config.json has no GPTQ quantization_config, or scales that are not F16.
LinearWeights load_linear(const io::ShardedCheckpoint &checkpoint, const ModelSpec &spec,
                          const std::string &prefix, std::int64_t out_features,
                          std::int64_t in_features, bool has_bias,
                          QuantizedLinears quantized = QuantizedLinears::Dequantize);

// The bias of `prefix`, [out_features], or empty: with `has_bias`
// "<prefix>.bias" must be there (Error(Format) naming it for a missing
// tensor or a wrong shape); without, a "<prefix>.bias" that is all zeros
// (AutoGPTQ 0.2-0.7 saved one on every quantized linear) is ignored and any
// other is Error(Format). The one bias reader of linear layers.
std::vector<float> load_linear_bias(const io::ShardedCheckpoint &checkpoint, const ModelSpec &spec,
                                    const std::string &prefix, std::int64_t out_features, bool has_bias);

// The dequantized fp32 weight [out_features, in_features] of the packed GPTQ
// linear `prefix`, checked against that shape (Error(Format) otherwise).
std::vector<float> dequantize_checkpoint_linear(const io::ShardedCheckpoint &checkpoint,
                                                const GptqQuantizationConfig &quantization,
                                                const std::string &prefix,
                                                std::int64_t out_features,
                                                std::int64_t in_features);

}  // namespace gptq::model
