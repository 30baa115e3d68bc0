// Architecture specs: everything that differs between the supported decoder
// families, as data. Adding an architecture means adding an entry to the table
// in architecture.cpp, not a branch in the code that reads configs, names
// tensors or orders the quantization.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gptq::model {

enum class NormKind { RmsNorm, LayerNorm };
enum class PositionKind { Rope, Learned };

// The sizes tensor shapes are made of (resolved against a ModelSpec).
enum class Dim {
  Hidden,        // hidden_size
  Intermediate,  // MLP width (intermediate_size / ffn_dim)
  Vocab,         // vocab_size
  QWidth,        // num_heads * head_dim
  KvWidth,       // num_kv_heads * head_dim
  Positions,     // max_position_embeddings + position_offset (learned positions)
  EmbedWidth,    // word_embed_proj_dim (OPT; equals hidden_size elsewhere)
};

// When a tensor is present, in terms of the parsed config.
enum class Presence {
  Always,
  QkvBias,      // spec.qkv_bias
  OutBias,      // spec.out_bias
  MlpBias,      // spec.mlp_bias
  Untied,       // !spec.tie_word_embeddings
  FinalNorm,    // spec.final_norm
  EmbedProject, // spec.word_embed_proj_dim != spec.hidden_size
};

struct TensorTemplate {
  std::string_view name;  // within the block (after the layer prefix) or the whole name
  std::vector<Dim> shape;
  Presence presence = Presence::Always;
};

// A boolean config field with its default; an empty field name means the
// architecture has no such field and the default always applies.
struct BoolField {
  std::string_view field;
  bool fallback;
};

// What each sublayer of a block does in the forward pass (core/model/
// block_forward.cpp), by its name within the block: norms by module name
// ("input_layernorm", tensors "<name>.weight"/".bias"), linears by the names
// of sequential_groups.
struct BlockLayout {
  std::string_view attn_norm, mlp_norm;
  std::string_view q, k, v, o;
  std::string_view gate;  // empty: an ungated MLP, down(act(up(x)))
  std::string_view up, down;
};

// The model-level modules by module name (no ".weight"); empty when the
// architecture has none.
struct GlobalLayout {
  std::string_view embed_tokens;
  std::string_view embed_positions;  // learned positions
  std::string_view final_norm;
  std::string_view lm_head;
  std::string_view project_in, project_out;  // OPT's word_embed_proj_dim projections
};

struct ArchitectureSpec {
  std::string_view model_type;  // config.json "model_type"

  // Tensor names: block N's tensors are "<layer_prefix>N.<template name>".
  std::string_view layer_prefix;
  std::vector<TensorTemplate> block_tensors;
  std::vector<TensorTemplate> global_tensors;

  // The linear sublayers of a block in true-sequential order: each group can be
  // quantized once the groups before it are done. The members of a group share
  // one input (the pipeline computes one Hessian per group and checks this).
  std::vector<std::vector<std::string_view>> sequential_groups;

  // config.json fields that are named differently, and defaults that differ.
  std::string_view intermediate_field;
  std::string_view activation_field;
  std::string_view default_activation;
  NormKind norm = NormKind::RmsNorm;
  std::string_view norm_eps_field;  // empty: the norm has a fixed eps
  double default_norm_eps = 1e-6;
  PositionKind positions = PositionKind::Rope;
  std::int64_t position_offset = 0;  // learned positions: rows before position 0
  BoolField qkv_bias;
  BoolField out_bias;
  BoolField mlp_bias;
  BoolField tie_word_embeddings;
  BoolField norm_before;          // pre-norm blocks
  BoolField remove_final_norm;    // OPT's _remove_final_layer_norm
  std::string_view embed_proj_field;     // OPT's word_embed_proj_dim; empty: = hidden
  std::string_view sliding_window_field; // empty: no sliding-window attention

  BlockLayout block_layout;
  GlobalLayout global_layout;
};

// The spec for `model_type`, or nullptr.
const ArchitectureSpec *find_architecture(std::string_view model_type);

// Every supported architecture.
std::span<const ArchitectureSpec> architectures();

// "model.layers.3." for llama.
std::string block_prefix(const ArchitectureSpec &arch, std::int64_t layer);

}  // namespace gptq::model
