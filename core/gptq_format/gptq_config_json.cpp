#include "core/gptq_format/gptq_config_json.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <vector>

#include "core/gptq_format/checkpoint_format.h"

namespace gptq::io {
namespace {

// The float as its shortest decimal (0.01f -> 0.01, not 0.009999999776...),
// which is what the Python tools write for the same setting.
double shortest(float v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  double d = 0;
  std::from_chars(buf, r.ptr, d);
  return d;
}

std::string regex_escaped(const std::string &name) {
  std::string out;
  for (char c : name) {
    if (std::string_view(".^$*+?()[]{}|\\").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

void add_skip_rules(nlohmann::json &q, const BlockLinears &blocks, const std::set<std::string> &quantized) {
  const std::size_t num_layers = blocks.block_prefixes.size();
  // Per sublayer name: the blocks where it is quantized.
  std::map<std::string, std::vector<bool>, std::less<>> in_block;
  for (const auto &group : blocks.sequential_groups)
    for (const std::string &sub : group)
      for (std::size_t b = 0; b < num_layers; ++b) {
        auto &v = in_block[sub];
        v.resize(num_layers);
        v[b] = quantized.count(blocks.block_prefixes[b] + sub) != 0;
      }
  bool all = true, uniform = true;
  for (const auto &[sub, v] : in_block)
    for (bool x : v) {
      all = all && x;
      uniform = uniform && x == v.front();
    }
  if (all) return;
  nlohmann::json groups = nlohmann::json::array();
  for (const auto &group : blocks.sequential_groups) {
    nlohmann::json g = nlohmann::json::array();
    for (const std::string &sub : group) {
      const auto &v = in_block.find(sub)->second;
      if (std::find(v.begin(), v.end(), true) != v.end()) g.push_back(sub);
    }
    if (!g.empty()) groups.push_back(std::move(g));
  }
  q["modules_in_block_to_quantize"] = std::move(groups);
  if (uniform) return;
  nlohmann::json dynamic = nlohmann::json::object();
  for (const auto &[sub, v] : in_block) {
    if (std::find(v.begin(), v.end(), true) == v.end()) continue;  // covered above
    for (std::size_t b = 0; b < v.size(); ++b)
      if (!v[b])
        dynamic["-:^" + regex_escaped(blocks.block_prefixes[b] + sub) + "$"] = nlohmann::json::object();
  }
  q["dynamic"] = std::move(dynamic);
}

}  // namespace

nlohmann::json gptq_quantization_config(const quant::GptqQuantizationConfig &config, const BlockLinears &blocks,
                                        const std::set<std::string> &quantized) {
  nlohmann::json q = nlohmann::json::object();
  q["quant_method"] = "gptq";
  q["bits"] = config.bits;
  q["group_size"] = config.group_size;
  q["desc_act"] = config.desc_act;
  q["sym"] = config.sym;
  q["damp_percent"] = shortest(static_cast<float>(config.damp_percent));
  q["damp_auto_increment"] = shortest(static_cast<float>(config.damp_auto_increment));
  q["true_sequential"] = config.true_sequential;
  q["static_groups"] = config.static_groups;
  q["checkpoint_format"] = std::string(quant::checkpoint_format_name(config.checkpoint_format));
  q["pack_dtype"] = "int32";
  q["lm_head"] = quantized.count("lm_head") != 0;
  q["meta"] = {{"quantizer", {std::string(kLibgptqQuantizerPrefix) + GPTQ_PROJECT_VERSION}}};
  add_skip_rules(q, blocks, quantized);
  return q;
}

bool written_by_libgptq(const nlohmann::json &quantization_config) {
  if (!quantization_config.is_object()) return false;
  const auto meta = quantization_config.find("meta");
  if (meta == quantization_config.end() || !meta->is_object()) return false;
  const auto quantizer = meta->find("quantizer");
  if (quantizer == meta->end()) return false;
  // GPTQModel writes a list; a single string is read the same way.
  const nlohmann::json list = quantizer->is_array() ? *quantizer : nlohmann::json::array({*quantizer});
  for (const auto &entry : list)
    if (entry.is_string() && entry.get_ref<const std::string &>().starts_with(kLibgptqQuantizerPrefix))
      return true;
  return false;
}

}  // namespace gptq::io
