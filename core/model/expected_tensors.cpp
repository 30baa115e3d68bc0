#include "core/model/expected_tensors.h"

namespace gptq::model {

std::int64_t resolve_dim(const ModelSpec &spec, Dim dim) {
  switch (dim) {
    case Dim::Hidden: return spec.hidden_size;
    case Dim::Intermediate: return spec.intermediate_size;
    case Dim::Vocab: return spec.vocab_size;
    case Dim::QWidth: return spec.num_heads * spec.head_dim;
    case Dim::KvWidth: return spec.num_kv_heads * spec.head_dim;
    case Dim::Positions: return spec.max_position_embeddings + spec.position_offset;
    case Dim::EmbedWidth: return spec.word_embed_proj_dim;
  }
  return 0;
}

bool is_present(const ModelSpec &spec, Presence presence) {
  switch (presence) {
    case Presence::Always: return true;
    case Presence::QkvBias: return spec.qkv_bias;
    case Presence::OutBias: return spec.out_bias;
    case Presence::MlpBias: return spec.mlp_bias;
    case Presence::Untied: return !spec.tie_word_embeddings;
    case Presence::FinalNorm: return spec.final_norm;
    case Presence::EmbedProject: return spec.word_embed_proj_dim != spec.hidden_size;
  }
  return false;
}

std::vector<ExpectedTensor> expected_tensors(const ModelSpec &spec) {
  std::vector<ExpectedTensor> out;
  auto add = [&](const TensorTemplate &t, const std::string &prefix) {
    if (!is_present(spec, t.presence)) return;
    ExpectedTensor e{prefix + std::string(t.name), {}};
    for (Dim d : t.shape) e.shape.push_back(resolve_dim(spec, d));
    out.push_back(std::move(e));
  };
  for (const TensorTemplate &t : spec.arch->global_tensors) add(t, "");
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    const std::string prefix = block_prefix(*spec.arch, layer);
    for (const TensorTemplate &t : spec.arch->block_tensors) add(t, prefix);
  }
  return out;
}

}  // namespace gptq::model
