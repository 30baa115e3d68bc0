#include "core/model/block_weights.h"

#include <algorithm>
#include <string>

#include "core/base/error.h"
#include "core/model/expected_tensors.h"
#include "core/model/float_tensor.h"

namespace gptq::model {
namespace {

bool is_linear(const ArchitectureSpec &arch, std::string_view module) {
  for (const auto &group : arch.sequential_groups)
    if (std::find(group.begin(), group.end(), module) != group.end()) return true;
  return false;
}

std::vector<std::int64_t> resolve(const ModelSpec &spec, const std::vector<Dim> &dims) {
  std::vector<std::int64_t> shape;
  for (Dim d : dims) shape.push_back(resolve_dim(spec, d));
  return shape;
}

// The present template "<module>.<leaf>" of `templates`, or null.
const TensorTemplate *find_template(const ModelSpec &spec, const std::vector<TensorTemplate> &templates,
                                    std::string_view module, std::string_view leaf) {
  for (const TensorTemplate &t : templates) {
    if (t.name.size() == module.size() + 1 + leaf.size() && t.name.starts_with(module) &&
        t.name[module.size()] == '.' && t.name.ends_with(leaf))
      return is_present(spec, t.presence) ? &t : nullptr;
  }
  return nullptr;
}

NormWeights load_norm(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint,
                      const std::vector<TensorTemplate> &templates, std::string_view module,
                      const std::string &prefix) {
  NormWeights n;
  const std::string name = prefix + std::string(module);
  if (const TensorTemplate *w = find_template(spec, templates, module, "weight"))
    n.weight = load_float32(checkpoint, name + ".weight", resolve(spec, w->shape));
  if (const TensorTemplate *b = find_template(spec, templates, module, "bias"))
    n.bias = load_float32(checkpoint, name + ".bias", resolve(spec, b->shape));
  return n;
}

// A linear whose ".weight" template is present; empty weights otherwise.
LinearWeights load_linear_module(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint,
                                 const std::vector<TensorTemplate> &templates, std::string_view module,
                                 const std::string &prefix,
                                 QuantizedLinears quantized = QuantizedLinears::Dequantize) {
  const TensorTemplate *w = find_template(spec, templates, module, "weight");
  if (!w) return {};
  const std::vector<std::int64_t> shape = resolve(spec, w->shape);
  const bool bias = find_template(spec, templates, module, "bias") != nullptr;
  return load_linear(checkpoint, spec, prefix + std::string(module), shape[0], shape[1], bias, quantized);
}

}  // namespace

LinearWeights &BlockWeights::linear(std::string_view name) {
  auto it = linears.find(name);
  if (it == linears.end())
    fail(Status::InvalidArgument,
         "block " + std::to_string(layer) + " has no linear sublayer '" + std::string(name) + "'");
  return it->second;
}

const LinearWeights &BlockWeights::linear(std::string_view name) const {
  return const_cast<BlockWeights *>(this)->linear(name);
}

const NormWeights &BlockWeights::norm(std::string_view name) const {
  auto it = norms.find(name);
  if (it == norms.end())
    fail(Status::InvalidArgument,
         "block " + std::to_string(layer) + " has no norm '" + std::string(name) + "'");
  return it->second;
}

namespace {

void check_layer(const ModelSpec &spec, std::int64_t layer) {
  if (layer < 0 || layer >= spec.num_layers)
    fail(Status::InvalidArgument, "layer " + std::to_string(layer) + " is outside [0, " +
                                      std::to_string(spec.num_layers) + ")");
}

}  // namespace

LinearWeights load_block_linear(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint,
                                std::int64_t layer, std::string_view module, QuantizedLinears quantized) {
  check_layer(spec, layer);
  return load_linear_module(spec, checkpoint, spec.arch->block_tensors, module, block_prefix(*spec.arch, layer),
                            quantized);
}

NormWeights load_block_norm(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint, std::int64_t layer,
                            std::string_view module) {
  check_layer(spec, layer);
  return load_norm(spec, checkpoint, spec.arch->block_tensors, module, block_prefix(*spec.arch, layer));
}

namespace {

struct BlockModule {
  std::string_view name;
  bool linear = false;
};

// The block's modules in the templates' order: each linear's and each norm's name.
std::vector<BlockModule> block_modules(const ModelSpec &spec) {
  const ArchitectureSpec &arch = *spec.arch;
  std::vector<BlockModule> modules;
  for (const TensorTemplate &t : arch.block_tensors) {
    const std::string_view module = t.name.substr(0, t.name.rfind('.'));
    if (std::any_of(modules.begin(), modules.end(), [&](const BlockModule &m) { return m.name == module; })) continue;
    modules.push_back({module, is_linear(arch, module)});
  }
  return modules;
}

}  // namespace

BlockWeights load_block_weights(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint,
                                std::int64_t layer, QuantizedLinears quantized, const ForEachIndex &for_each) {
  check_layer(spec, layer);
  const std::vector<BlockModule> modules = block_modules(spec);
  std::vector<LinearWeights> linears(modules.size());
  std::vector<NormWeights> norms(modules.size());
  const auto load = [&](std::int64_t i) {
    const BlockModule &m = modules[static_cast<std::size_t>(i)];
    if (m.linear)
      linears[static_cast<std::size_t>(i)] = load_block_linear(spec, checkpoint, layer, m.name, quantized);
    else
      norms[static_cast<std::size_t>(i)] = load_block_norm(spec, checkpoint, layer, m.name);
  };
  const auto n = static_cast<std::int64_t>(modules.size());
  if (for_each) {
    for_each(n, load);
  } else {
    for (std::int64_t i = 0; i < n; ++i) load(i);
  }
  BlockWeights b;
  b.layer = layer;
  for (std::size_t i = 0; i < modules.size(); ++i) {
    if (modules[i].linear)
      b.linears.emplace(modules[i].name, std::move(linears[i]));
    else
      b.norms.emplace(modules[i].name, std::move(norms[i]));
  }
  return b;
}

GlobalWeights load_global_weights(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint) {
  GlobalWeights g;
  load_global_part(spec, checkpoint, GlobalPart::Embeddings, g);
  load_global_part(spec, checkpoint, GlobalPart::Head, g);
  return g;
}

void load_global_part(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint, GlobalPart part,
                      GlobalWeights &g) {
  const ArchitectureSpec &arch = *spec.arch;
  const GlobalLayout &l = arch.global_layout;
  const auto &templates = arch.global_tensors;
  if (part == GlobalPart::Head) {
    // A post-norm OPT (do_layer_norm_before false) has no final norm, whatever the flag says.
    if (spec.final_norm && spec.norm_before) g.final_norm = load_norm(spec, checkpoint, templates, l.final_norm, "");
    if (!spec.tie_word_embeddings) g.lm_head = load_linear_module(spec, checkpoint, templates, l.lm_head, "");
    if (!l.project_in.empty()) {
      g.project_in = load_linear_module(spec, checkpoint, templates, l.project_in, "");
      g.project_out = load_linear_module(spec, checkpoint, templates, l.project_out, "");
    }
    return;
  }
  const TensorTemplate *embed = find_template(spec, templates, l.embed_tokens, "weight");
  if (!embed) fail(Status::Internal, std::string(arch.model_type) + ": no embed_tokens template");
  g.embed_tokens = load_float32(checkpoint, std::string(l.embed_tokens) + ".weight", resolve(spec, embed->shape));
  if (!l.embed_positions.empty() && spec.positions == PositionKind::Learned) {
    const TensorTemplate *pos = find_template(spec, templates, l.embed_positions, "weight");
    g.embed_positions = load_float32(checkpoint, std::string(l.embed_positions) + ".weight",
                                     resolve(spec, pos->shape));
  }
}

}  // namespace gptq::model
