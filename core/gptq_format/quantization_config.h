// "quantization_config" of a GPTQ checkpoint, the one type for it, read and
// written: config.json's object and quantize_config.json (the same content),
// in the form the peers read (transformers' GPTQConfig / optimum, AutoGPTQ's
// BaseQuantizeConfig, GPTQModel's QuantizeConfig). Absent fields take the
// defaults of the transformers/GPTQModel tooling. The JSON this library
// writes is core/gptq_format/gptq_config_json.h.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/gptq_format/checkpoint_format.h"
#include "core/gptq_format/gptq_packing.h"
#include "core/io/json_fields.h"
#include "schema/gptq_generated.h"

namespace gptq::quant {

// A tool named in quantization_config "meta": "quantizer" (or "packer"):
// "gptqmodel:2.2.0" -> {"gptqmodel", "2.2.0"}.
struct GptqProducer {
  std::string tool;     // lower case
  std::string version;  // as written
};

struct GptqQuantizationConfig {
  int bits = 4;
  int group_size = 128;  // -1: one group per output row (per-channel)
  bool desc_act = false;
  bool sym = true;
  double damp_percent = 0.01;
  // Written (GPTQModel reads it back); reading a checkpoint never needs it,
  // so the parser leaves the default.
  double damp_auto_increment = 0.0025;
  bool true_sequential = true;
  bool static_groups = false;
  CheckpointFormat checkpoint_format = CheckpointFormat::V1;  // "gptq" or "gptq_v2"
  // Who wrote it (meta.quantizer, then meta.packer), in order; empty when
  // the config does not say (AutoGPTQ, transformers without GPTQModel).
  std::vector<GptqProducer> producers;
  // AutoGPTQ's name of the weights file without extension (ShardedCheckpoint::open).
  std::string model_file_base_name;
};

// The quantization_config object `q` (of config.json, or quantize_config.json
// at its top level) read from `source` (named in messages). Error(Format)
// naming the source and the field for a missing, mistyped or out-of-range
// field; Error(Unsupported) for a quant_method other than "gptq" and for
// layouts that are not the GPTQ packing: AutoGPTQ's "is_marlin_format": true,
// a checkpoint_format other than gptq/gptq_v2 (marlin, gptq_p, ...) and a
// GPTQModel "pack_dtype" other than int32.
GptqQuantizationConfig parse_quantization_config(const io::JsonFields &q, const std::string &source);

// quantize_config.json text (AutoGPTQ up to 0.6 wrote only this file,
// without quant_method); an absent quant_method means "gptq".
GptqQuantizationConfig parse_quantize_config_json(std::string_view json_text, const std::string &source);

// The quantization of a model directory from its config.json's
// quantization_config and its quantize_config.json, either of which may be
// absent (named `config_source` and `quantize_config_source` in messages).
// When both are there they must agree on what reading the tensors depends on
// (bits, group_size, checkpoint_format; Error(Format) naming both files
// otherwise); meta and model_file_base_name are taken from either.
std::optional<GptqQuantizationConfig> merge_quantization_configs(
    const std::optional<GptqQuantizationConfig> &from_config, const std::string &config_source,
    const std::optional<GptqQuantizationConfig> &from_quantize_config,
    const std::string &quantize_config_source);

// What a checkpoint quantized with `config` says of itself (producers left
// empty: the JSON writer signs it).
GptqQuantizationConfig quantization_config(const schema::QuantizeConfigT &config);

// The schema's QuantizeConfig a checkpoint with this quantization_config was
// made with, as far as the checkpoint says (ModelInfo's quantization).
std::unique_ptr<schema::QuantizeConfigT> schema_quantize_config(const GptqQuantizationConfig &quantization);

// How v1 zero points of a checkpoint with this config are read
// (core/gptq_format/gptq_packing.h): GPTQModel's own whole-word conversion
// when meta names gptqmodel 0.9.0 or later (with its 3-bit constants before
// 7.0.0; an unreadable version counts as the newest), else per field.
V1ZeroReading v1_zero_reading(const GptqQuantizationConfig &quantization);

}  // namespace gptq::quant
