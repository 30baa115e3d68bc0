// The "quantization_config" a GPTQ checkpoint carries in config.json (and,
// with the same content, as quantize_config.json), in the form the peers
// read: transformers' GPTQConfig / optimum, AutoGPTQ's BaseQuantizeConfig and
// GPTQModel's QuantizeConfig.
//
// Written from the one quantization_config type (core/gptq_format/
// quantization_config.h; producers are not taken from it: the file is signed
// as libgptq's). Always written: quant_method "gptq", bits, group_size, desc_act, sym,
// damp_percent, damp_auto_increment, true_sequential, static_groups,
// checkpoint_format ("gptq" | "gptq_v2"), pack_dtype "int32", lm_head
// (whether lm_head itself was quantized; GPTQModel reads it) and
// meta.quantizer ["libgptq:<version>"]: who wrote the file, in the place and
// form GPTQModel uses for its own ("gptqmodel:<version>"), so readers can
// follow the writer's conventions and libgptq can tell its own checkpoints
// (the only non-empty directories it replaces) from anything else.
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

#include "core/gptq_format/block_linears.h"
#include "core/gptq_format/quantization_config.h"
#include "schema/gptq_generated.h"

namespace gptq::io {

// What meta.quantizer entries written by libgptq start with.
inline constexpr std::string_view kLibgptqQuantizerPrefix = "libgptq:";

// True when a quantization_config / quantize_config.json object says libgptq
// wrote it (a meta.quantizer entry starting with kLibgptqQuantizerPrefix).
bool written_by_libgptq(const nlohmann::json &quantization_config);

// `quantized`: the prefixes ("model.layers.0.self_attn.q_proj") that were
// quantized in this checkpoint; `blocks`: the model's block linears (the
// skip rules are written from them).
nlohmann::json gptq_quantization_config(const quant::GptqQuantizationConfig &config, const BlockLinears &blocks,
                                        const std::set<std::string> &quantized);

}  // namespace gptq::io
