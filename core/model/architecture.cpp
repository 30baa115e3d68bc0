#include "core/model/architecture.h"

namespace gptq::model {
namespace {

using enum Dim;
using enum Presence;

// Llama, Mistral and Qwen2 share the block layout; they differ in biases and
// config fields only.
std::vector<TensorTemplate> llama_block() {
  return {
      {"input_layernorm.weight", {Hidden}},
      {"post_attention_layernorm.weight", {Hidden}},
      {"self_attn.q_proj.weight", {QWidth, Hidden}},
      {"self_attn.k_proj.weight", {KvWidth, Hidden}},
      {"self_attn.v_proj.weight", {KvWidth, Hidden}},
      {"self_attn.o_proj.weight", {Hidden, QWidth}},
      {"self_attn.q_proj.bias", {QWidth}, QkvBias},
      {"self_attn.k_proj.bias", {KvWidth}, QkvBias},
      {"self_attn.v_proj.bias", {KvWidth}, QkvBias},
      {"self_attn.o_proj.bias", {Hidden}, OutBias},
      {"mlp.gate_proj.weight", {Intermediate, Hidden}},
      {"mlp.up_proj.weight", {Intermediate, Hidden}},
      {"mlp.down_proj.weight", {Hidden, Intermediate}},
      {"mlp.gate_proj.bias", {Intermediate}, MlpBias},
      {"mlp.up_proj.bias", {Intermediate}, MlpBias},
      {"mlp.down_proj.bias", {Hidden}, MlpBias},
  };
}

std::vector<TensorTemplate> llama_globals() {
  return {
      {"model.embed_tokens.weight", {Vocab, Hidden}},
      {"model.norm.weight", {Hidden}},
      {"lm_head.weight", {Vocab, Hidden}, Untied},
  };
}

std::vector<std::vector<std::string_view>> llama_order() {
  return {{"self_attn.k_proj", "self_attn.v_proj", "self_attn.q_proj"},
          {"self_attn.o_proj"},
          {"mlp.up_proj", "mlp.gate_proj"},
          {"mlp.down_proj"}};
}

ArchitectureSpec llama_like(std::string_view model_type, BoolField qkv_bias, BoolField out_bias,
                            BoolField mlp_bias, std::string_view sliding_window_field) {
  ArchitectureSpec a;
  a.model_type = model_type;
  a.layer_prefix = "model.layers.";
  a.block_tensors = llama_block();
  a.global_tensors = llama_globals();
  a.sequential_groups = llama_order();
  a.intermediate_field = "intermediate_size";
  a.activation_field = "hidden_act";
  a.default_activation = "silu";
  a.norm = NormKind::RmsNorm;
  a.norm_eps_field = "rms_norm_eps";
  a.default_norm_eps = 1e-6;  // the transformers config classes' default
  a.positions = PositionKind::Rope;
  a.qkv_bias = qkv_bias;
  a.out_bias = out_bias;
  a.mlp_bias = mlp_bias;
  a.tie_word_embeddings = {"tie_word_embeddings", false};
  a.norm_before = {"", true};
  a.remove_final_norm = {"", false};
  a.sliding_window_field = sliding_window_field;
  a.block_layout = {.attn_norm = "input_layernorm",
                    .mlp_norm = "post_attention_layernorm",
                    .q = "self_attn.q_proj",
                    .k = "self_attn.k_proj",
                    .v = "self_attn.v_proj",
                    .o = "self_attn.o_proj",
                    .gate = "mlp.gate_proj",
                    .up = "mlp.up_proj",
                    .down = "mlp.down_proj"};
  a.global_layout = {.embed_tokens = "model.embed_tokens",
                     .embed_positions = "",
                     .final_norm = "model.norm",
                     .lm_head = "lm_head",
                     .project_in = "",
                     .project_out = ""};
  return a;
}

ArchitectureSpec opt() {
  ArchitectureSpec a;
  a.model_type = "opt";
  a.layer_prefix = "model.decoder.layers.";
  a.block_tensors = {
      {"self_attn_layer_norm.weight", {Hidden}},
      {"self_attn_layer_norm.bias", {Hidden}},
      {"final_layer_norm.weight", {Hidden}},
      {"final_layer_norm.bias", {Hidden}},
      {"self_attn.q_proj.weight", {QWidth, Hidden}},
      {"self_attn.k_proj.weight", {KvWidth, Hidden}},
      {"self_attn.v_proj.weight", {KvWidth, Hidden}},
      {"self_attn.out_proj.weight", {Hidden, QWidth}},
      {"self_attn.q_proj.bias", {QWidth}, QkvBias},
      {"self_attn.k_proj.bias", {KvWidth}, QkvBias},
      {"self_attn.v_proj.bias", {KvWidth}, QkvBias},
      {"self_attn.out_proj.bias", {Hidden}, OutBias},
      {"fc1.weight", {Intermediate, Hidden}},
      {"fc2.weight", {Hidden, Intermediate}},
      {"fc1.bias", {Intermediate}, MlpBias},
      {"fc2.bias", {Hidden}, MlpBias},
  };
  a.global_tensors = {
      {"model.decoder.embed_tokens.weight", {Vocab, EmbedWidth}},
      {"model.decoder.embed_positions.weight", {Positions, Hidden}},
      {"model.decoder.final_layer_norm.weight", {Hidden}, FinalNorm},
      {"model.decoder.final_layer_norm.bias", {Hidden}, FinalNorm},
      {"model.decoder.project_in.weight", {Hidden, EmbedWidth}, EmbedProject},
      {"model.decoder.project_out.weight", {EmbedWidth, Hidden}, EmbedProject},
      {"lm_head.weight", {Vocab, EmbedWidth}, Untied},
  };
  a.sequential_groups = {{"self_attn.k_proj", "self_attn.v_proj", "self_attn.q_proj"},
                         {"self_attn.out_proj"},
                         {"fc1"},
                         {"fc2"}};
  a.intermediate_field = "ffn_dim";
  a.activation_field = "activation_function";
  a.default_activation = "relu";
  a.norm = NormKind::LayerNorm;
  a.norm_eps_field = "";  // OPT's LayerNorm uses torch's default eps
  a.default_norm_eps = 1e-5;
  a.positions = PositionKind::Learned;
  a.position_offset = 2;  // OPT reserves the first two rows of embed_positions
  a.qkv_bias = {"enable_bias", true};
  a.out_bias = {"enable_bias", true};
  a.mlp_bias = {"enable_bias", true};
  a.tie_word_embeddings = {"tie_word_embeddings", true};
  a.norm_before = {"do_layer_norm_before", true};
  a.remove_final_norm = {"_remove_final_layer_norm", false};
  a.embed_proj_field = "word_embed_proj_dim";
  a.block_layout = {.attn_norm = "self_attn_layer_norm",
                    .mlp_norm = "final_layer_norm",
                    .q = "self_attn.q_proj",
                    .k = "self_attn.k_proj",
                    .v = "self_attn.v_proj",
                    .o = "self_attn.out_proj",
                    .gate = "",
                    .up = "fc1",
                    .down = "fc2"};
  a.global_layout = {.embed_tokens = "model.decoder.embed_tokens",
                     .embed_positions = "model.decoder.embed_positions",
                     .final_norm = "model.decoder.final_layer_norm",
                     .lm_head = "lm_head",
                     .project_in = "model.decoder.project_in",
                     .project_out = "model.decoder.project_out"};
  return a;
}

const std::vector<ArchitectureSpec> &table() {
  static const std::vector<ArchitectureSpec> specs = {
      llama_like("llama", {"attention_bias", false}, {"attention_bias", false},
                 {"mlp_bias", false}, ""),
      llama_like("mistral", {"", false}, {"", false}, {"", false}, "sliding_window"),
      // Qwen2 always has q/k/v biases and no others.
      llama_like("qwen2", {"", true}, {"", false}, {"", false}, ""),
      opt(),
  };
  return specs;
}

}  // namespace

const ArchitectureSpec *find_architecture(std::string_view model_type) {
  for (const ArchitectureSpec &spec : table())
    if (spec.model_type == model_type) return &spec;
  return nullptr;
}

std::span<const ArchitectureSpec> architectures() { return table(); }

std::string block_prefix(const ArchitectureSpec &arch, std::int64_t layer) {
  return std::string(arch.layer_prefix) + std::to_string(layer) + ".";
}

}  // namespace gptq::model
