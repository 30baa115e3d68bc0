// config.json -> ModelSpec: the sizes and options of a Hugging Face decoder LM
// of a supported architecture (core/model/architecture.h), validated. Reads both
// the classic layout (top-level rope_theta/rope_scaling, torch_dtype) and the
// one transformers 5 writes (rope_parameters, dtype).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/gptq_format/quantization_config.h"
#include "core/model/architecture.h"
#include "core/tensor/dtype.h"

namespace gptq::model {

enum class RopeType { Default, Linear, Dynamic, Llama3 };

struct RopeConfig {
  double theta = 10000.0;
  RopeType type = RopeType::Default;
  double factor = 1.0;  // linear, dynamic, llama3
  // llama3 only:
  double low_freq_factor = 0.0;
  double high_freq_factor = 0.0;
  std::int64_t original_max_position_embeddings = 0;
};

// "quantization_config" of a GPTQ checkpoint: the format's one type, read
// and written by core/gptq_format/quantization_config.h.
using quant::GptqProducer;
using quant::GptqQuantizationConfig;
using quant::merge_quantization_configs;
using quant::parse_quantize_config_json;

struct ModelSpec {
  const ArchitectureSpec *arch = nullptr;
  std::string model_type;
  std::vector<std::string> architectures;  // config.json "architectures", e.g. LlamaForCausalLM

  std::int64_t hidden_size = 0;
  std::int64_t num_layers = 0;
  std::int64_t num_heads = 0;
  std::int64_t num_kv_heads = 0;  // = num_heads unless the config says otherwise
  std::int64_t head_dim = 0;      // = hidden_size / num_heads unless given
  std::int64_t intermediate_size = 0;
  std::int64_t vocab_size = 0;
  std::int64_t max_position_embeddings = 0;

  PositionKind positions = PositionKind::Rope;
  std::int64_t position_offset = 0;
  RopeConfig rope;  // meaningful for PositionKind::Rope

  NormKind norm = NormKind::RmsNorm;
  double norm_eps = 1e-6;
  bool norm_before = true;  // pre-norm blocks
  bool final_norm = true;   // a norm after the last block

  bool tie_word_embeddings = false;
  std::string activation;
  bool qkv_bias = false;
  bool out_bias = false;
  bool mlp_bias = false;
  std::int64_t word_embed_proj_dim = 0;  // = hidden_size except in some OPTs
  std::optional<std::int64_t> sliding_window;

  std::optional<std::int64_t> bos_token_id;
  std::vector<std::int64_t> eos_token_ids;  // config may give one id or a list
  std::optional<std::int64_t> pad_token_id;
  std::optional<DType> dtype;  // "dtype" or "torch_dtype"

  std::optional<GptqQuantizationConfig> quantization;
};

// Parses config.json text read from `source` (named in messages). Throws
// Error(Format) naming the source and the field for a missing, mistyped or
// inconsistent field; Error(Unsupported) for a model_type without a spec, a
// rope type we do not implement, or what quant::parse_quantization_config
// refuses in its quantization_config.
ModelSpec parse_model_config(std::string_view json_text, const std::string &source);

// Reads and parses `path` (Error(Io) when it cannot be read).
ModelSpec load_model_config(const std::filesystem::path &path);

}  // namespace gptq::model
