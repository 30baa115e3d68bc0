#include "core/gptq_format/quantization_config.h"

#include <cctype>
#include <charconv>

#include "core/base/error.h"
#include "core/gptq_format/bit_widths.h"
#include "core/io/json_parse.h"

namespace gptq::quant {
namespace {

// quantize_config.json nests one level (meta); the limit only stops
// adversarial input.
constexpr std::size_t kQuantizeConfigMaxDepth = 32;

// meta.quantizer / meta.packer: "tool:version" or a list of them.
void add_producers(const io::JsonFields &meta, std::string_view key, std::vector<GptqProducer> &out) {
  if (!meta.has(key)) return;
  const nlohmann::json &v = meta.get(key);
  auto add = [&](const nlohmann::json &entry, const std::string &field) {
    if (!entry.is_string()) meta.wrong(field, "is " + io::json_type_description(entry) + ", expected \"tool:version\"");
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

}  // namespace

GptqQuantizationConfig parse_quantization_config(const io::JsonFields &q, const std::string &source) {
  const std::string method = q.string("quant_method");
  if (method != "gptq")
    fail(Status::Unsupported, source + ": field 'quantization_config.quant_method' is '" + method +
                                  "'; only 'gptq' checkpoints are supported");
  GptqQuantizationConfig c;
  const std::int64_t bits = q.integer("bits");
  if (!is_gptq_bit_width(static_cast<int>(bits)) || bits != static_cast<int>(bits))
    q.wrong("bits", "is " + std::to_string(bits) + ", expected " + kGptqBitWidthsText);
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
  const auto parsed = parse_checkpoint_format(format);
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
    const io::JsonFields meta = q.object("meta");
    for (const char *key : {"quantizer", "packer"}) add_producers(meta, key, c.producers);
  }
  return c;
}

GptqQuantizationConfig parse_quantize_config_json(std::string_view json_text,
                                                  const std::string &source) {
  nlohmann::json root = io::parse_json_strict(json_text, source, kQuantizeConfigMaxDepth);
  if (!root.is_object())
    fail(Status::Format, source + ": is " + io::json_type_description(root) + ", expected a JSON object");
  // AutoGPTQ before quant_method existed wrote only GPTQ configs here.
  if (!root.contains("quant_method") || root["quant_method"].is_null()) root["quant_method"] = "gptq";
  return parse_quantization_config(io::JsonFields(root, source), source);
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
  if (a.checkpoint_format != b.checkpoint_format) differ("checkpoint_format", std::string(checkpoint_format_name(a.checkpoint_format)),
           std::string(checkpoint_format_name(b.checkpoint_format)));
  GptqQuantizationConfig merged = a;
  if (merged.producers.empty()) merged.producers = b.producers;
  if (merged.model_file_base_name.empty()) merged.model_file_base_name = b.model_file_base_name;
  return merged;
}

GptqQuantizationConfig quantization_config(const schema::QuantizeConfigT &config) {
  GptqQuantizationConfig q;
  q.bits = config.bits;
  q.group_size = config.group_size;
  q.desc_act = config.desc_act;
  q.sym = config.sym;
  q.damp_percent = config.damp_percent;
  q.damp_auto_increment = config.damp_auto_increment;
  q.true_sequential = config.true_sequential;
  q.static_groups = config.static_groups;
  q.checkpoint_format = checkpoint_format(config);
  return q;
}

std::unique_ptr<schema::QuantizeConfigT> schema_quantize_config(const GptqQuantizationConfig &q) {
  auto out = std::make_unique<schema::QuantizeConfigT>();
  out->bits = q.bits;
  out->group_size = q.group_size;
  out->desc_act = q.desc_act;
  out->sym = q.sym;
  out->damp_percent = static_cast<float>(q.damp_percent);
  out->true_sequential = q.true_sequential;
  out->static_groups = q.static_groups;
  out->checkpoint_format = schema_checkpoint_format(q.checkpoint_format);
  out->mse = std::make_unique<schema::MseConfigT>();
  out->calibration = std::make_unique<schema::CalibrationConfigT>();
  return out;
}

V1ZeroReading v1_zero_reading(const GptqQuantizationConfig &q) {
  for (const GptqProducer &p : q.producers) {
    if (p.tool != "gptqmodel") continue;
    // "2.2.0", "4.0.0-dev1", "1.4.5+cu121": the leading numbers.
    int v[3] = {0, 0, 0};
    std::size_t at = 0;
    bool readable = !p.version.empty() && std::isdigit(static_cast<unsigned char>(p.version[0]));
    for (int i = 0; i < 3 && readable && at < p.version.size(); ++i) {
      const auto r = std::from_chars(p.version.data() + at, p.version.data() + p.version.size(), v[i]);
      if (r.ec != std::errc()) break;
      at = static_cast<std::size_t>(r.ptr - p.version.data());
      if (at >= p.version.size() || p.version[at] != '.') break;
      ++at;
    }
    if (!readable) return V1ZeroReading::GptqModel;
    if (v[0] == 0 && v[1] < 9) return V1ZeroReading::PerField;  // before its v2 code (0.9.0)
    return v[0] < 7 ? V1ZeroReading::GptqModelBefore7 : V1ZeroReading::GptqModel;
  }
  return V1ZeroReading::PerField;
}

}  // namespace gptq::quant
