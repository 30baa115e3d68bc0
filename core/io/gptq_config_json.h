// The "quantization_config" a GPTQ checkpoint carries in config.json (and,
// with the same content, as quantize_config.json), in the form the peers
// read: transformers' GPTQConfig / optimum, AutoGPTQ's BaseQuantizeConfig and
// GPTQModel's QuantizeConfig.
//
// Always written: quant_method "gptq", bits, group_size, desc_act, sym,
// damp_percent, damp_auto_increment, true_sequential, static_groups,
// checkpoint_format ("gptq" | "gptq_v2"), pack_dtype "int32" and lm_head
// (whether lm_head itself was quantized; GPTQModel reads it).
//
// Only when some linear of the blocks stays float:
//  - modules_in_block_to_quantize: the block sublayers that are quantized,
//    grouped as the architecture's true-sequential groups. optimum (behind
//    transformers) replaces every block linear whose name ends with one of
//    them, in every block, so this alone is right when each block keeps the
//    same ones float.
//  - dynamic: when blocks differ, GPTQModel's per-module rules, one
//    "-:^<escaped name>$": {} entry (skip) per float linear of a block whose
//    sublayer is quantized elsewhere.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/model/model_config.h"
#include "schema/gptq_generated.h"

namespace gptq::io {

// `quantized`: the prefixes ("model.layers.0.self_attn.q_proj") that were
// quantized in this checkpoint.
nlohmann::json gptq_quantization_config(const schema::QuantizeConfigT &config,
                                        const model::ModelSpec &spec,
                                        const std::set<std::string> &quantized);

}  // namespace gptq::io
