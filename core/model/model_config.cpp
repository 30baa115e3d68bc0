#include "core/model/model_config.h"

#include <cctype>
#include <cmath>
#include <limits>

#include "core/base/error.h"
#include "core/io/json_fields.h"
#include "core/io/json_parse.h"
#include "core/io/read_file.h"

namespace gptq::model {
namespace {

using json = nlohmann::json;
using io::json_type_description;
using Fields = io::JsonFields;

constexpr std::uint64_t kMaxConfigBytes = 16u << 20;
// Configs nest a few levels (rope_scaling, quantization_config, task maps);
// the limit only stops adversarial input.
constexpr std::size_t kConfigMaxDepth = 32;
// Sizes beyond io::kMaxJsonSize are corrupt configs, not models (the default
// bound of Fields::positive); layers beyond this stop a consumer from
// allocating per-layer state for billions of layers.
constexpr std::int64_t kMaxLayers = std::int64_t{1} << 16;

RopeType parse_rope_type(const std::string &type, std::string_view field) {
  if (type == "default") return RopeType::Default;
  if (type == "linear") return RopeType::Linear;
  if (type == "dynamic") return RopeType::Dynamic;
  if (type == "llama3") return RopeType::Llama3;
  fail(Status::Unsupported, std::string(field) + " is '" + type +
                                "', which is not supported (default, linear, dynamic, llama3)");
}

// The scaling part of a rope_scaling or rope_parameters object.
void parse_rope_scaling(const Fields &f, RopeConfig &rope, const std::string &source,
                        const std::string &object_name) {
  const char *type_key = f.has("rope_type") ? "rope_type" : "type";
  const std::string type = f.string_or(type_key, "default");
  rope.type = parse_rope_type(type, source + ": field '" + object_name + "." + type_key + "'");
  if (rope.type == RopeType::Default) return;
  rope.factor = f.positive_number("factor");
  if (rope.type == RopeType::Llama3) {
    rope.low_freq_factor = f.positive_number("low_freq_factor");
    rope.high_freq_factor = f.positive_number("high_freq_factor");
    rope.original_max_position_embeddings = f.positive("original_max_position_embeddings");
  }
}

RopeConfig parse_rope(const Fields &config, const std::string &source) {
  RopeConfig rope;
  if (config.has("rope_parameters")) {
    // transformers >= 5: theta and scaling in one object.
    const Fields p = config.object("rope_parameters");
    rope.theta = p.positive_number_or("rope_theta", config.positive_number_or("rope_theta", 10000.0));
    parse_rope_scaling(p, rope, source, "rope_parameters");
    return rope;
  }
  rope.theta = config.positive_number_or("rope_theta", 10000.0);
  if (config.has("rope_scaling"))
    parse_rope_scaling(config.object("rope_scaling"), rope, source, "rope_scaling");
  return rope;
}

}  // namespace

ModelSpec parse_model_config(std::string_view json_text, const std::string &source) {
  const json root = io::parse_json_strict(json_text, source, kConfigMaxDepth);
  if (!root.is_object())
    fail(Status::Format, source + ": config is " + json_type_description(root) +
                             ", expected a JSON object");
  const Fields f(root, source);

  ModelSpec s;
  s.model_type = f.string("model_type");
  s.arch = find_architecture(s.model_type);
  if (!s.arch)
    fail(Status::Unsupported, source + ": field 'model_type' is '" + s.model_type +
                                  "', which is not a supported architecture");
  const ArchitectureSpec &a = *s.arch;
  if (f.has("architectures")) {
    const json &list = root["architectures"];
    if (!list.is_array()) f.wrong("architectures", "is " + json_type_description(list) + ", expected a list of class names");
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string())
        f.wrong("architectures[" + std::to_string(i) + "]", "is " + json_type_description(list[i]) + ", expected a string");
      s.architectures.push_back(list[i].get<std::string>());
    }
  }

  s.hidden_size = f.positive("hidden_size");
  s.num_layers = f.positive("num_hidden_layers", kMaxLayers);
  s.num_heads = f.positive("num_attention_heads");
  s.num_kv_heads = f.positive_or("num_key_value_heads", s.num_heads);
  if (s.num_heads % s.num_kv_heads != 0)
    f.wrong("num_key_value_heads", "is " + std::to_string(s.num_kv_heads) +
                                       ", which does not divide num_attention_heads " +
                                       std::to_string(s.num_heads));
  if (f.has("head_dim")) {
    s.head_dim = f.positive("head_dim");
  } else {
    if (s.hidden_size % s.num_heads != 0)
      f.wrong("num_attention_heads", "is " + std::to_string(s.num_heads) +
                                         ", which does not divide hidden_size " +
                                         std::to_string(s.hidden_size) + " (and no head_dim is given)");
    s.head_dim = s.hidden_size / s.num_heads;
  }
  s.intermediate_size = f.positive(a.intermediate_field);
  s.vocab_size = f.positive("vocab_size");
  s.max_position_embeddings = f.positive("max_position_embeddings");

  s.positions = a.positions;
  s.position_offset = a.position_offset;
  if (a.positions == PositionKind::Rope) s.rope = parse_rope(f, source);

  s.norm = a.norm;
  s.norm_eps = a.norm_eps_field.empty() ? a.default_norm_eps
                                        : f.positive_number_or(a.norm_eps_field, a.default_norm_eps);
  s.norm_before = f.boolean_or(a.norm_before.field, a.norm_before.fallback);
  s.final_norm = !f.boolean_or(a.remove_final_norm.field, a.remove_final_norm.fallback);

  s.tie_word_embeddings = f.boolean_or(a.tie_word_embeddings.field, a.tie_word_embeddings.fallback);
  s.activation = f.string_or(a.activation_field, a.default_activation);
  s.qkv_bias = f.boolean_or(a.qkv_bias.field, a.qkv_bias.fallback);
  s.out_bias = f.boolean_or(a.out_bias.field, a.out_bias.fallback);
  s.mlp_bias = f.boolean_or(a.mlp_bias.field, a.mlp_bias.fallback);
  s.word_embed_proj_dim = a.embed_proj_field.empty()
                              ? s.hidden_size
                              : f.positive_or(a.embed_proj_field, s.hidden_size);
  if (!a.sliding_window_field.empty()) s.sliding_window = f.opt_integer(a.sliding_window_field);
  if (s.sliding_window && *s.sliding_window <= 0)
    f.wrong(a.sliding_window_field, "is " + std::to_string(*s.sliding_window) + ", expected > 0");

  s.bos_token_id = f.opt_integer("bos_token_id");
  s.eos_token_ids = f.id_list("eos_token_id");
  s.pad_token_id = f.opt_integer("pad_token_id");

  // transformers >= 5 writes "dtype"; older versions "torch_dtype".
  const char *dtype_key = f.has("dtype") ? "dtype" : "torch_dtype";
  if (f.has(dtype_key)) {
    const std::string name = f.string(dtype_key);
    s.dtype = dtype_from_torch_name(name);
    if (!s.dtype)
      fail(Status::Unsupported,
           source + ": field '" + dtype_key + "' is '" + name + "', not a supported dtype");
  }

  if (f.has("quantization_config"))
    s.quantization = quant::parse_quantization_config(f.object("quantization_config"), source);
  return s;
}

ModelSpec load_model_config(const std::filesystem::path &path) {
  return parse_model_config(io::read_text_file(path, kMaxConfigBytes), path.string());
}

}  // namespace gptq::model
