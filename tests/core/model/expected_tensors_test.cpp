#include "core/model/expected_tensors.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/io/sharded_checkpoint.h"
#include "tests/support/shared_data.h"

namespace gptq::model {
namespace {

// Opens a shared model through its index and checks that the checkpoint holds
// exactly the tensors the spec implies, with the implied shapes.
void check_model(const std::filesystem::path &dir) {
  const ModelSpec spec = load_model_config(dir / "config.json");
  const io::ShardedCheckpoint ckpt = io::ShardedCheckpoint::open(dir);
  const std::vector<ExpectedTensor> expected = expected_tensors(spec);
  std::set<std::string> expected_names;
  for (const ExpectedTensor &e : expected) {
    expected_names.insert(e.name);
    ASSERT_TRUE(ckpt.contains(e.name)) << dir << ": missing " << e.name;
    const io::TensorView t = ckpt.tensor(e.name);
    EXPECT_EQ(t.shape, e.shape) << e.name;
    EXPECT_EQ(t.dtype, spec.dtype.value_or(DType::F32)) << e.name;
  }
  for (const std::string &name : ckpt.tensor_names())
    EXPECT_TRUE(expected_names.contains(name)) << dir << ": unexpected tensor " << name;
  EXPECT_EQ(ckpt.tensor_names().size(), expected.size());

  // Every linear sublayer of the quantization order is a weight of every block.
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer)
    for (const auto &group : spec.arch->sequential_groups)
      for (std::string_view linear : group)
        EXPECT_TRUE(expected_names.contains(block_prefix(*spec.arch, layer) + std::string(linear) + ".weight"))
            << linear;
}

TEST(ExpectedTensors, RealLlamaMatchesItsSpec) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-llama-16m");
  check_model(dir);
}

TEST(ExpectedTensors, RealOptMatchesItsSpec) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-opt-15m");
  check_model(dir);
}

TEST(ExpectedTensors, OptProjectionsAndUntiedHead) {
  const ModelSpec s = parse_model_config(
      R"({"model_type":"opt","hidden_size":64,"num_hidden_layers":1,"num_attention_heads":4,)"
      R"("ffn_dim":256,"vocab_size":100,"max_position_embeddings":128,"word_embed_proj_dim":32,)"
      R"("tie_word_embeddings":false})",
      "cfg.json");
  std::map<std::string, std::vector<std::int64_t>> got;
  for (const ExpectedTensor &e : expected_tensors(s)) got[e.name] = e.shape;
  EXPECT_EQ(got.at("model.decoder.embed_tokens.weight"), (std::vector<std::int64_t>{100, 32}));
  EXPECT_EQ(got.at("model.decoder.project_in.weight"), (std::vector<std::int64_t>{64, 32}));
  EXPECT_EQ(got.at("model.decoder.project_out.weight"), (std::vector<std::int64_t>{32, 64}));
  EXPECT_EQ(got.at("lm_head.weight"), (std::vector<std::int64_t>{100, 32}));
  EXPECT_EQ(got.at("model.decoder.embed_positions.weight"), (std::vector<std::int64_t>{130, 64}));
}

TEST(ExpectedTensors, Qwen2HasQkvBiasesOnly) {
  const ModelSpec s = parse_model_config(
      R"({"model_type":"qwen2","hidden_size":64,"num_hidden_layers":1,"num_attention_heads":4,)"
      R"("num_key_value_heads":2,"intermediate_size":128,"vocab_size":100,"max_position_embeddings":128})",
      "cfg.json");
  std::map<std::string, std::vector<std::int64_t>> got;
  for (const ExpectedTensor &e : expected_tensors(s)) got[e.name] = e.shape;
  EXPECT_EQ(got.at("model.layers.0.self_attn.k_proj.bias"), (std::vector<std::int64_t>{32}));
  EXPECT_EQ(got.at("model.layers.0.self_attn.q_proj.bias"), (std::vector<std::int64_t>{64}));
  EXPECT_FALSE(got.contains("model.layers.0.self_attn.o_proj.bias"));
  EXPECT_FALSE(got.contains("model.layers.0.mlp.up_proj.bias"));
}

}  // namespace
}  // namespace gptq::model
