#include "core/model/model_config.h"

#include <gtest/gtest.h>

#include "tests/core/io/io_test_support.h"
#include "tests/support/shared_data.h"

namespace gptq::model {
namespace {

// A minimal valid llama config with `extra` fields spliced in (a leading comma included).
std::string llama(const std::string &extra = "") {
  return R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":2,)"
         R"("num_attention_heads":4,"intermediate_size":128,"vocab_size":100,)"
         R"("max_position_embeddings":256)" +
         extra + "}";
}

ModelSpec parse(const std::string &text) { return parse_model_config(text, "cfg.json"); }

TEST(ModelConfig, RealLlama) {
  GPTQ_REQUIRE_SHARED(path, "models/docs-llama-16m/config.json");
  const ModelSpec s = load_model_config(path);
  EXPECT_EQ(s.arch->model_type, "llama");
  EXPECT_EQ(s.hidden_size, 384);
  EXPECT_EQ(s.num_layers, 6);
  EXPECT_EQ(s.num_heads, 6);
  EXPECT_EQ(s.num_kv_heads, 2);
  EXPECT_EQ(s.head_dim, 64);
  EXPECT_EQ(s.intermediate_size, 1024);
  EXPECT_EQ(s.vocab_size, 8192);
  EXPECT_EQ(s.max_position_embeddings, 2048);
  EXPECT_EQ(s.positions, PositionKind::Rope);
  EXPECT_DOUBLE_EQ(s.rope.theta, 10000.0);  // from rope_parameters
  EXPECT_EQ(s.rope.type, RopeType::Default);
  EXPECT_EQ(s.norm, NormKind::RmsNorm);
  EXPECT_DOUBLE_EQ(s.norm_eps, 1e-5);
  EXPECT_FALSE(s.tie_word_embeddings);
  EXPECT_EQ(s.activation, "silu");
  EXPECT_FALSE(s.qkv_bias);
  EXPECT_EQ(s.bos_token_id, 1);
  EXPECT_EQ(s.eos_token_ids, (std::vector<std::int64_t>{2}));
  EXPECT_FALSE(s.pad_token_id.has_value());
  EXPECT_EQ(s.dtype, DType::F16);
  EXPECT_FALSE(s.quantization.has_value());
}

TEST(ModelConfig, RealOpt) {
  GPTQ_REQUIRE_SHARED(path, "models/docs-opt-15m/config.json");
  const ModelSpec s = load_model_config(path);
  EXPECT_EQ(s.arch->model_type, "opt");
  EXPECT_EQ(s.intermediate_size, 1536);  // ffn_dim
  EXPECT_EQ(s.num_kv_heads, 6);
  EXPECT_EQ(s.head_dim, 64);
  EXPECT_EQ(s.positions, PositionKind::Learned);
  EXPECT_EQ(s.position_offset, 2);
  EXPECT_EQ(s.norm, NormKind::LayerNorm);
  EXPECT_DOUBLE_EQ(s.norm_eps, 1e-5);
  EXPECT_TRUE(s.norm_before);
  EXPECT_TRUE(s.final_norm);
  EXPECT_TRUE(s.tie_word_embeddings);
  EXPECT_EQ(s.activation, "relu");
  EXPECT_TRUE(s.qkv_bias && s.out_bias && s.mlp_bias);
  EXPECT_EQ(s.word_embed_proj_dim, 384);
  EXPECT_EQ(s.pad_token_id, 1);
}

TEST(ModelConfig, Defaults) {
  const ModelSpec s = parse(llama());
  EXPECT_EQ(s.num_kv_heads, 4);
  EXPECT_EQ(s.head_dim, 16);
  EXPECT_DOUBLE_EQ(s.rope.theta, 10000.0);
  EXPECT_DOUBLE_EQ(s.norm_eps, 1e-6);
  EXPECT_EQ(s.activation, "silu");
  EXPECT_TRUE(s.eos_token_ids.empty());
  EXPECT_FALSE(s.dtype.has_value());
}

TEST(ModelConfig, ClassicRopeFieldsAndTorchDtype) {
  const ModelSpec s = parse(llama(
      R"(,"rope_theta":500000.0,"torch_dtype":"bfloat16","eos_token_id":[128001,128009],)"
      R"("rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,)"
      R"("high_freq_factor":4.0,"original_max_position_embeddings":8192})"));
  EXPECT_DOUBLE_EQ(s.rope.theta, 500000.0);
  EXPECT_EQ(s.rope.type, RopeType::Llama3);
  EXPECT_DOUBLE_EQ(s.rope.factor, 8.0);
  EXPECT_DOUBLE_EQ(s.rope.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(s.rope.high_freq_factor, 4.0);
  EXPECT_EQ(s.rope.original_max_position_embeddings, 8192);
  EXPECT_EQ(s.dtype, DType::BF16);
  EXPECT_EQ(s.eos_token_ids, (std::vector<std::int64_t>{128001, 128009}));
}

TEST(ModelConfig, RopeScalingTypes) {
  EXPECT_EQ(parse(llama(R"(,"rope_scaling":{"type":"linear","factor":2.0})")).rope.type,
            RopeType::Linear);
  EXPECT_EQ(parse(llama(R"(,"rope_scaling":{"type":"dynamic","factor":2})")).rope.type,
            RopeType::Dynamic);
  EXPECT_EQ(parse(llama(R"(,"rope_scaling":null)")).rope.type, RopeType::Default);
  const ModelSpec p = parse(llama(
      R"(,"rope_parameters":{"rope_type":"linear","rope_theta":1000.0,"factor":4.0})"));
  EXPECT_EQ(p.rope.type, RopeType::Linear);
  EXPECT_DOUBLE_EQ(p.rope.theta, 1000.0);
  EXPECT_DOUBLE_EQ(p.rope.factor, 4.0);
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"rope_scaling":{"type":"yarn","factor":4.0})")),
                    Status::Unsupported, {"cfg.json", "rope_scaling.type", "yarn"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"rope_scaling":{"type":"linear"})")), Status::Format,
                    {"cfg.json", "'rope_scaling.factor'", "missing"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"rope_parameters":{"rope_type":"llama3","factor":8.0})")),
                    Status::Format, {"cfg.json", "'rope_parameters.low_freq_factor'"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"rope_scaling":"linear")")), Status::Format,
                    {"cfg.json", "'rope_scaling'", "expected an object"});
}

TEST(ModelConfig, MistralAndQwen2) {
  std::string m = llama(R"(,"sliding_window":4096,"num_key_value_heads":2)");
  m.replace(m.find("llama"), 5, "mistral");
  const ModelSpec mistral = parse(m);
  EXPECT_EQ(mistral.sliding_window, 4096);
  EXPECT_EQ(mistral.num_kv_heads, 2);
  EXPECT_FALSE(mistral.qkv_bias);
  std::string q = llama(R"(,"tie_word_embeddings":true)");
  q.replace(q.find("llama"), 5, "qwen2");
  const ModelSpec qwen = parse(q);
  EXPECT_TRUE(qwen.qkv_bias);
  EXPECT_FALSE(qwen.out_bias);
  EXPECT_TRUE(qwen.tie_word_embeddings);
  EXPECT_FALSE(qwen.sliding_window.has_value());
}

TEST(ModelConfig, LlamaAttentionBias) {
  const ModelSpec s = parse(llama(R"(,"attention_bias":true,"mlp_bias":true)"));
  EXPECT_TRUE(s.qkv_bias && s.out_bias && s.mlp_bias);
}

TEST(ModelConfig, OptSpecifics) {
  const ModelSpec s = parse(
      R"({"model_type":"opt","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,)"
      R"("ffn_dim":256,"vocab_size":100,"max_position_embeddings":128,"word_embed_proj_dim":32,)"
      R"("do_layer_norm_before":false,"enable_bias":false,"_remove_final_layer_norm":true})");
  EXPECT_EQ(s.word_embed_proj_dim, 32);
  EXPECT_FALSE(s.norm_before);
  EXPECT_FALSE(s.final_norm);
  EXPECT_FALSE(s.qkv_bias || s.out_bias || s.mlp_bias);
  EXPECT_TRUE(s.tie_word_embeddings);  // OPT's default
}

TEST(ModelConfig, QuantizationConfig) {
  const ModelSpec s = parse(llama(
      R"(,"quantization_config":{"quant_method":"gptq","bits":3,"group_size":-1,)"
      R"("desc_act":true,"sym":false,"damp_percent":0.1,"static_groups":true,)"
      R"("true_sequential":false,"checkpoint_format":"gptq_v2"})"));
  ASSERT_TRUE(s.quantization.has_value());
  EXPECT_EQ(s.quantization->bits, 3);
  EXPECT_EQ(s.quantization->group_size, -1);
  EXPECT_TRUE(s.quantization->desc_act);
  EXPECT_FALSE(s.quantization->sym);
  EXPECT_DOUBLE_EQ(s.quantization->damp_percent, 0.1);
  EXPECT_TRUE(s.quantization->static_groups);
  EXPECT_FALSE(s.quantization->true_sequential);
  EXPECT_EQ(s.quantization->checkpoint_format, quant::CheckpointFormat::V2);
  const ModelSpec d = parse(llama(R"(,"quantization_config":{"quant_method":"gptq","bits":4})"));
  EXPECT_EQ(d.quantization->group_size, 128);
  EXPECT_EQ(d.quantization->checkpoint_format, quant::CheckpointFormat::V1);
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"quantization_config":{"quant_method":"awq","bits":4})")),
                    Status::Unsupported, {"cfg.json", "quantization_config.quant_method", "awq"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"quantization_config":{"quant_method":"gptq","bits":5})")),
                    Status::Format, {"cfg.json", "'quantization_config.bits'", "5"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"quantization_config":{"quant_method":"gptq","bits":"4"})")),
                    Status::Format, {"cfg.json", "'quantization_config.bits'", "a string"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"quantization_config":{"bits":4})")), Status::Format,
                    {"cfg.json", "'quantization_config.quant_method'", "missing"});
}

TEST(ModelConfig, QuantizationConfigOfEachPeer) {
  // AutoGPTQ 0.7.1's to_dict (no checkpoint_format; the file's base name).
  const ModelSpec a = parse(llama(
      R"(,"quantization_config":{"bits":4,"group_size":128,"damp_percent":0.01,"desc_act":false,)"
      R"("static_groups":false,"sym":true,"true_sequential":true,"model_name_or_path":null,)"
      R"("model_file_base_name":"gptq_model-4bit-128g","is_marlin_format":false,"quant_method":"gptq"})"));
  EXPECT_EQ(a.quantization->checkpoint_format, quant::CheckpointFormat::V1);
  EXPECT_EQ(a.quantization->model_file_base_name, "gptq_model-4bit-128g");
  EXPECT_TRUE(a.quantization->producers.empty());
  // GPTQModel: meta.quantizer a list (0.9: one string), then meta.packer.
  const ModelSpec g = parse(llama(
      R"(,"quantization_config":{"quant_method":"gptq","bits":4,"checkpoint_format":"gptq","pack_dtype":"int32",)"
      R"("meta":{"quantizer":["GPTQModel:2.2.0","optimum:1.23"],"packer":"gptqmodel:2.2.0","uri":"x"}})"));
  const auto &p = g.quantization->producers;
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].tool, "gptqmodel");
  EXPECT_EQ(p[0].version, "2.2.0");
  EXPECT_EQ(p[1].tool, "optimum");
  EXPECT_EQ(p[2].tool, "gptqmodel");
  EXPECT_EQ(g.quantization->model_file_base_name, "");
  const ModelSpec one = parse(llama(R"(,"quantization_config":{"quant_method":"gptq","bits":4,"meta":{"quantizer":"gptqmodel:0.9.0"}})"));
  EXPECT_EQ(one.quantization->producers.at(0).version, "0.9.0");
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"quantization_config":{"quant_method":"gptq","bits":4,"meta":{"quantizer":[7]}})")),
                    Status::Format, {"'quantization_config.meta.quantizer[0]'", "tool:version"});
  // Layouts that are not the GPTQ packing.
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"quantization_config":{"quant_method":"gptq","bits":4,"is_marlin_format":true})")),
                    Status::Unsupported, {"cfg.json", "quantization_config.is_marlin_format", "Marlin"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"quantization_config":{"quant_method":"gptq","bits":4,"pack_dtype":"int64"})")),
                    Status::Unsupported, {"quantization_config.pack_dtype", "int64"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"quantization_config":{"quant_method":"gptq","bits":4,"checkpoint_format":"marlin"})")),
                    Status::Unsupported, {"quantization_config.checkpoint_format", "marlin"});
  // quantize_config.json names its fields at the top level.
  EXPECT_GPTQ_ERROR(parse_quantize_config_json(R"({"bits":4,"checkpoint_format":"gptq_p"})", "qc.json"),
                    Status::Unsupported, {"qc.json", "field 'checkpoint_format'", "gptq_p"});
}

TEST(ModelConfig, ConfigJsonAndQuantizeConfigJsonMerge) {
  const auto from_config = parse(llama(R"(,"quantization_config":{"quant_method":"gptq","bits":4,"group_size":128})")).quantization;
  const auto from_file = parse_quantize_config_json(
      R"({"bits":4,"group_size":128,"model_file_base_name":"gptq_model-4bit-128g","meta":{"quantizer":["gptqmodel:1.0.0"]}})",
      "qc.json");
  const auto merged = merge_quantization_configs(from_config, "cfg.json", from_file, "qc.json");
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->model_file_base_name, "gptq_model-4bit-128g");
  ASSERT_EQ(merged->producers.size(), 1u);
  EXPECT_EQ(merge_quantization_configs(std::nullopt, "cfg.json", from_file, "qc.json")->bits, 4);
  EXPECT_FALSE(merge_quantization_configs(std::nullopt, "cfg.json", std::nullopt, "qc.json"));
  for (const char *other : {R"({"bits":3})", R"({"bits":4,"group_size":64})", R"({"bits":4,"checkpoint_format":"gptq_v2"})"}) {
    EXPECT_GPTQ_ERROR(merge_quantization_configs(from_config, "cfg.json", parse_quantize_config_json(other, "qc.json"),
                                                 "qc.json"),
                      Status::Format, {"cfg.json", "qc.json", "disagree"});
  }
}

TEST(ModelConfig, MissingFields) {
  for (const char *field : {"model_type", "hidden_size", "num_hidden_layers",
                            "num_attention_heads", "intermediate_size", "vocab_size",
                            "max_position_embeddings"}) {
    std::string text = llama();
    const std::size_t at = text.find(std::string("\"") + field + "\"");
    ASSERT_NE(at, std::string::npos);
    const std::size_t end = text.find_first_of(",}", at);
    text.erase(at, end - at + (text[end] == ',' ? 1 : 0));
    if (text[text.size() - 2] == ',') text.erase(text.size() - 2, 1);
    EXPECT_GPTQ_ERROR(parse(text), Status::Format,
                      {"cfg.json", std::string("'") + field + "'", "missing"});
  }
}

TEST(ModelConfig, WrongTypes) {
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"num_key_value_heads":"2")")), Status::Format,
                    {"cfg.json", "'num_key_value_heads'", "a string", "expected an integer"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"rms_norm_eps":"small")")), Status::Format,
                    {"cfg.json", "'rms_norm_eps'", "expected a number"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"tie_word_embeddings":1)")), Status::Format,
                    {"cfg.json", "'tie_word_embeddings'", "expected true or false"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"hidden_act":7)")), Status::Format,
                    {"cfg.json", "'hidden_act'", "expected a string"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"eos_token_id":[1,"x"])")), Status::Format,
                    {"cfg.json", "'eos_token_id[1]'"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"head_dim":2.5)")), Status::Format,
                    {"cfg.json", "'head_dim'", "expected an integer"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"dtype":"float8")")), Status::Unsupported,
                    {"cfg.json", "'dtype'", "float8"});
  std::string nulled = llama();
  nulled.replace(nulled.find("64"), 2, "null");
  EXPECT_GPTQ_ERROR(parse(nulled), Status::Format, {"cfg.json", "'hidden_size'", "null"});
}

TEST(ModelConfig, InconsistentSizes) {
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"num_key_value_heads":3)")), Status::Format,
                    {"cfg.json", "'num_key_value_heads'", "does not divide"});
  std::string zero = llama();
  zero.replace(zero.find("\"vocab_size\":100"), 16, "\"vocab_size\":0");
  EXPECT_GPTQ_ERROR(parse(zero), Status::Format, {"cfg.json", "'vocab_size'", "positive"});
  std::string odd = llama();
  odd.replace(odd.find("\"hidden_size\":64"), 16, "\"hidden_size\":66");
  EXPECT_GPTQ_ERROR(parse(odd), Status::Format, {"cfg.json", "'num_attention_heads'", "divide"});
  EXPECT_EQ(parse(odd.substr(0, odd.size() - 1) + R"(,"head_dim":16})").head_dim, 16);
  std::string deep = llama();
  deep.replace(deep.find("\"num_hidden_layers\":2"), 21, "\"num_hidden_layers\":1000000000");
  EXPECT_GPTQ_ERROR(parse(deep), Status::Format, {"cfg.json", "'num_hidden_layers'", "limit"});
}

TEST(ModelConfig, UnsupportedModelType) {
  std::string t = llama();
  t.replace(t.find("llama"), 5, "gpt_neox");
  EXPECT_GPTQ_ERROR(parse(t), Status::Unsupported, {"cfg.json", "'model_type'", "gpt_neox"});
}

TEST(ModelConfig, NotJsonOrNotAnObject) {
  EXPECT_GPTQ_ERROR(parse("{\"model_type\": "), Status::Format, {"cfg.json", "invalid JSON at byte"});
  EXPECT_GPTQ_ERROR(parse("[]"), Status::Format, {"cfg.json", "expected a JSON object"});
  EXPECT_GPTQ_ERROR(parse(llama(R"(,"hidden_size":64)")), Status::Format,
                    {"cfg.json", "duplicate key 'hidden_size'"});
}

TEST(ModelConfig, MissingFileIsIo) {
  gptq::testing::TempDir dir;
  EXPECT_GPTQ_ERROR(load_model_config(dir / "config.json"), Status::Io, {"config.json"});
}

}  // namespace
}  // namespace gptq::model
