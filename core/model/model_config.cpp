#include "core/model/model_config.h"

#include <cctype>
#include <cmath>
#include <limits>

#include "core/base/error.h"
#include "core/gptq_format/bit_widths.h"
#include "core/io/json_parse.h"
#include "core/io/read_file.h"

namespace gptq::model {
namespace {

using json = nlohmann::json;
using io::json_type_description;

constexpr std::uint64_t kMaxConfigBytes = 16u << 20;
// Configs nest a few levels (rope_scaling, quantization_config, task maps);
// the limit only stops adversarial input.
constexpr std::size_t kConfigMaxDepth = 32;
// Sizes beyond these are corrupt configs, not models: refusing them keeps every
// product of two sizes (heads x head_dim, rows x cols) within 64 bits and stops
// a consumer from allocating per-layer state for billions of layers.
constexpr std::int64_t kMaxSize = (std::int64_t{1} << 31) - 1;
constexpr std::int64_t kMaxLayers = std::int64_t{1} << 16;

// Typed access to the fields of one JSON object, with messages naming the
// source file and the field ("rope_scaling.factor").
class Fields {
 public:
  Fields(const json &object, const std::string &source, std::string prefix = "")
      : object_(object), source_(source), prefix_(std::move(prefix)) {}

  bool has(std::string_view name) const {
    auto it = object_.find(name);
    return it != object_.end() && !it->is_null();
  }

  [[noreturn]] void wrong(std::string_view name, const std::string &problem) const {
    fail(Status::Format, source_ + ": field '" + prefix_ + std::string(name) + "' " + problem);
  }

  const json &get(std::string_view name) const {
    auto it = object_.find(name);
    if (it == object_.end()) wrong(name, "is missing");
    if (it->is_null()) wrong(name, "is null");
    return *it;
  }

  std::int64_t integer(std::string_view name) const {
    const json &v = get(name);
    if (v.is_number_unsigned() &&
        v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      wrong(name, "is " + v.dump() + ", too large");
    if (!v.is_number_integer()) wrong(name, "is " + json_type_description(v) + ", expected an integer");
    return v.get<std::int64_t>();
  }
  std::optional<std::int64_t> opt_integer(std::string_view name) const {
    return has(name) ? std::optional(integer(name)) : std::nullopt;
  }
  std::int64_t positive(std::string_view name, std::int64_t max = kMaxSize) const {
    const std::int64_t v = integer(name);
    if (v <= 0) wrong(name, "is " + std::to_string(v) + ", expected a positive integer");
    if (v > max) wrong(name, "is " + std::to_string(v) + ", more than the limit " + std::to_string(max));
    return v;
  }
  std::int64_t positive_or(std::string_view name, std::int64_t fallback) const {
    return has(name) ? positive(name) : fallback;
  }

  double number(std::string_view name) const {
    const json &v = get(name);
    if (!v.is_number()) wrong(name, "is " + json_type_description(v) + ", expected a number");
    return v.get<double>();
  }
  double positive_number(std::string_view name) const {
    const double v = number(name);
    if (!(v > 0) || !std::isfinite(v)) wrong(name, "is " + get(name).dump() + ", expected > 0");
    return v;
  }
  double positive_number_or(std::string_view name, double fallback) const {
    return has(name) ? positive_number(name) : fallback;
  }

  bool boolean_or(std::string_view name, bool fallback) const {
    if (name.empty() || !has(name)) return fallback;
    const json &v = get(name);
    if (!v.is_boolean()) wrong(name, "is " + json_type_description(v) + ", expected true or false");
    return v.get<bool>();
  }
  bool boolean_or(const BoolField &f) const { return boolean_or(f.field, f.fallback); }

  std::string string(std::string_view name) const {
    const json &v = get(name);
    if (!v.is_string()) wrong(name, "is " + json_type_description(v) + ", expected a string");
    return v.get<std::string>();
  }
  std::string string_or(std::string_view name, std::string_view fallback) const {
    return has(name) ? string(name) : std::string(fallback);
  }

  // "quantization_config." for the fields of that object, "" at the top level.
  const std::string &prefix() const { return prefix_; }

  // An object-valued field, for reading its own fields.
  Fields object(std::string_view name) const {
    const json &v = get(name);
    if (!v.is_object()) wrong(name, "is " + json_type_description(v) + ", expected an object");
    return Fields(v, source_, prefix_ + std::string(name) + ".");
  }

  // One id or a list of ids (eos_token_id).
  std::vector<std::int64_t> id_list(std::string_view name) const {
    if (!has(name)) return {};
    const json &v = get(name);
    if (!v.is_array()) return {integer(name)};
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_number_integer())
        wrong(std::string(name) + "[" + std::to_string(i) + "]",
              "is " + json_type_description(v[i]) + ", expected an integer");
      ids.push_back(v[i].get<std::int64_t>());
    }
    return ids;
  }

 private:
  const json &object_;
  const std::string &source_;
  std::string prefix_;
};

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

// meta.quantizer / meta.packer: "tool:version" or a list of them.
void add_producers(const Fields &meta, std::string_view key, std::vector<GptqProducer> &out) {
  if (!meta.has(key)) return;
  const json &v = meta.get(key);
  auto add = [&](const json &entry, const std::string &field) {
    if (!entry.is_string()) meta.wrong(field, "is " + json_type_description(entry) + ", expected \"tool:version\"");
    const std::string text = entry.get<std::string>();
    const std::size_t colon = text.find(':');
    GptqProducer p;
    p.tool = text.substr(0, colon);
    for (char &ch : p.tool) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (colon != std::string::npos) p.version = text.substr(colon + 1);
    out.push_back(std::move(p));
  };
  if (!v.is_array()) return add(v, std::string(key));
  for (std::size_t i = 0; i < v.size(); ++i) add(v[i], std::string(key) + "[" + std::to_string(i) + "]");
}

GptqQuantizationConfig parse_quantization(const Fields &q, const std::string &source) {
  const std::string method = q.string("quant_method");
  if (method != "gptq")
    fail(Status::Unsupported, source + ": field 'quantization_config.quant_method' is '" + method +
                                  "'; only 'gptq' checkpoints are supported");
  GptqQuantizationConfig c;
  const std::int64_t bits = q.integer("bits");
  if (!quant::is_gptq_bit_width(static_cast<int>(bits)) || bits != static_cast<int>(bits))
    q.wrong("bits", "is " + std::to_string(bits) + ", expected " + quant::kGptqBitWidthsText);
  c.bits = static_cast<int>(bits);
  if (q.has("group_size")) {
    const std::int64_t g = q.integer("group_size");
    if (g != -1 && (g <= 0 || g > (1 << 20)))
      q.wrong("group_size", "is " + std::to_string(g) + ", expected -1 or a positive size");
    c.group_size = static_cast<int>(g);
  }
  c.desc_act = q.boolean_or("desc_act", c.desc_act);
  c.sym = q.boolean_or("sym", c.sym);
  if (q.has("damp_percent")) {
    c.damp_percent = q.number("damp_percent");
    if (!(c.damp_percent > 0 && c.damp_percent < 1))
      q.wrong("damp_percent", "is " + std::to_string(c.damp_percent) + ", expected in (0, 1)");
  }
  c.true_sequential = q.boolean_or("true_sequential", c.true_sequential);
  c.static_groups = q.boolean_or("static_groups", c.static_groups);
  // GPTQModel writes "checkpoint_format"; some versions write "format".
  const char *format_key = q.has("checkpoint_format") ? "checkpoint_format" : "format";
  const std::string format = q.string_or(format_key, "gptq");
  const auto parsed = quant::parse_checkpoint_format(format);
  if (!parsed)
    fail(Status::Unsupported, source + ": field '" + q.prefix() + format_key + "' is '" + format +
                                  "'; supported: gptq, gptq_v2");
  c.checkpoint_format = *parsed;
  // AutoGPTQ 0.7's Marlin-repacked checkpoints keep the name qweight for
  // another layout.
  if (q.boolean_or("is_marlin_format", false))
    fail(Status::Unsupported, source + ": field '" + q.prefix() +
                                  "is_marlin_format' is true: AutoGPTQ's Marlin layout is not the GPTQ "
                                  "packing; use the gptq checkpoint it was converted from");
  if (q.has("pack_dtype") && q.string("pack_dtype") != "int32")
    fail(Status::Unsupported, source + ": field '" + q.prefix() + "pack_dtype' is '" + q.string("pack_dtype") +
                                  "'; only int32 packing is supported");
  c.model_file_base_name = q.string_or("model_file_base_name", "");
  if (q.has("meta")) {
    const Fields meta = q.object("meta");
    for (const char *key : {"quantizer", "packer"}) add_producers(meta, key, c.producers);
  }
  return c;
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
  s.norm_before = f.boolean_or(a.norm_before);
  s.final_norm = !f.boolean_or(a.remove_final_norm);

  s.tie_word_embeddings = f.boolean_or(a.tie_word_embeddings);
  s.activation = f.string_or(a.activation_field, a.default_activation);
  s.qkv_bias = f.boolean_or(a.qkv_bias);
  s.out_bias = f.boolean_or(a.out_bias);
  s.mlp_bias = f.boolean_or(a.mlp_bias);
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
    s.quantization = parse_quantization(f.object("quantization_config"), source);
  return s;
}

GptqQuantizationConfig parse_quantize_config_json(std::string_view json_text,
                                                  const std::string &source) {
  json root = io::parse_json_strict(json_text, source, kConfigMaxDepth);
  if (!root.is_object())
    fail(Status::Format, source + ": is " + json_type_description(root) + ", expected a JSON object");
  // AutoGPTQ before quant_method existed wrote only GPTQ configs here.
  if (!root.contains("quant_method") || root["quant_method"].is_null()) root["quant_method"] = "gptq";
  return parse_quantization(Fields(root, source), source);
}

ModelSpec load_model_config(const std::filesystem::path &path) {
  return parse_model_config(io::read_text_file(path, kMaxConfigBytes), path.string());
}

std::optional<GptqQuantizationConfig> merge_quantization_configs(
    const std::optional<GptqQuantizationConfig> &from_config, const std::string &config_source,
    const std::optional<GptqQuantizationConfig> &from_quantize_config,
    const std::string &quantize_config_source) {
  if (!from_config || !from_quantize_config) return from_config ? from_config : from_quantize_config;
  const GptqQuantizationConfig &a = *from_config, &b = *from_quantize_config;
  auto differ = [&](const char *field, const std::string &x, const std::string &y) {
    fail(Status::Format, config_source + " and " + quantize_config_source + " disagree on " + field + " (" + x +
                             " and " + y + "); the peers read one or the other, so the checkpoint is ambiguous");
  };
  if (a.bits != b.bits) differ("bits", std::to_string(a.bits), std::to_string(b.bits));
  if (a.group_size != b.group_size)
    differ("group_size", std::to_string(a.group_size), std::to_string(b.group_size));
  if (a.checkpoint_format != b.checkpoint_format) differ("checkpoint_format", std::string(quant::checkpoint_format_name(a.checkpoint_format)),
           std::string(quant::checkpoint_format_name(b.checkpoint_format)));
  GptqQuantizationConfig merged = a;
  if (merged.producers.empty()) merged.producers = b.producers;
  if (merged.model_file_base_name.empty()) merged.model_file_base_name = b.model_file_base_name;
  return merged;
}

}  // namespace gptq::model
