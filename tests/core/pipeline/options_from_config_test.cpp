// QuantizeConfig (JSON) -> QuantOptions / CheckpointFormat / modules_to_skip.
#include <gtest/gtest.h>

#include "core/config/typed.h"
#include "core/gptq_format/checkpoint_format.h"
#include "core/gptq_format/modules_to_skip.h"
#include "core/pipeline/options_from_config.h"

namespace gptq::quant {
namespace {

TEST(OptionsFromConfig, DefaultsAgreeWithQuantOptions) {
  const QuantOptions got = quant_options(config::parse_quantize_config(""));
  const QuantOptions want;
  EXPECT_EQ(got.bits, want.bits);
  EXPECT_EQ(got.group_size, want.group_size);
  EXPECT_EQ(got.sym, want.sym);
  EXPECT_EQ(got.desc_act, want.desc_act);
  EXPECT_EQ(got.static_groups, want.static_groups);
  EXPECT_EQ(got.damp_percent, want.damp_percent);
  EXPECT_EQ(got.damp_auto_increment, want.damp_auto_increment);
  EXPECT_EQ(got.block_size, want.block_size);
  EXPECT_EQ(got.mse.enabled, want.mse.enabled);
  EXPECT_EQ(got.mse.norm, want.mse.norm);
  EXPECT_EQ(got.mse.grid, want.mse.grid);
  EXPECT_EQ(got.mse.max_shrink, want.mse.max_shrink);
  EXPECT_EQ(got.hessian_fp64, want.hessian_fp64);
  EXPECT_EQ(got.positive_zero, want.positive_zero);  // symmetric by default
  EXPECT_EQ(checkpoint_format(config::parse_quantize_config("")), CheckpointFormat::V1);
}

TEST(OptionsFromConfig, EveryFieldIsMapped) {
  const auto c = config::parse_quantize_config(R"({
    "bits": 3, "group_size": 64, "sym": false, "desc_act": false, "static_groups": true,
    "damp_percent": 0.05, "damp_auto_increment": 0.01, "block_size": 32, "hessian_fp64": true,
    "checkpoint_format": "gptq_v2",
    "mse": {"enabled": true, "norm": 2.0, "grid": 50, "max_shrink": 0.5}})");
  const QuantOptions o = quant_options(c);
  EXPECT_EQ(o.bits, 3);
  EXPECT_EQ(o.group_size, 64);
  EXPECT_FALSE(o.sym);
  EXPECT_FALSE(o.desc_act);
  EXPECT_TRUE(o.static_groups);
  EXPECT_FLOAT_EQ(o.damp_percent, 0.05f);
  EXPECT_FLOAT_EQ(o.damp_auto_increment, 0.01f);
  EXPECT_EQ(o.block_size, 32);
  EXPECT_TRUE(o.hessian_fp64);
  EXPECT_TRUE(o.mse.enabled);
  EXPECT_FLOAT_EQ(o.mse.norm, 2.0f);
  EXPECT_EQ(o.mse.grid, 50);
  EXPECT_FLOAT_EQ(o.mse.max_shrink, 0.5f);
  EXPECT_EQ(checkpoint_format(c), CheckpointFormat::V2);
  EXPECT_FALSE(o.positive_zero);
}

TEST(OptionsFromConfig, AsymmetricV1KeepsZerosPositive) {
  // Format v1 cannot store a zero of 0 so that every peer reads it alike.
  EXPECT_TRUE(quant_options(config::parse_quantize_config(R"({"sym": false})")).positive_zero);
  EXPECT_TRUE(quant_options(config::parse_quantize_config(R"({"sym": false, "checkpoint_format": "gptq"})")).positive_zero);
  EXPECT_FALSE(quant_options(config::parse_quantize_config(R"({"sym": false, "checkpoint_format": "gptq_v2"})")).positive_zero);
  EXPECT_FALSE(quant_options(config::parse_quantize_config(R"({"sym": true})")).positive_zero);
}

TEST(OptionsFromConfig, ModulesToSkipMatchNamesAndDottedSuffixes) {
  const auto c = config::parse_quantize_config(
      R"({"modules_to_skip": ["mlp.down_proj", "model.layers.0.self_attn.q_proj", ""]})");
  EXPECT_TRUE(is_module_skipped(c, "model.layers.3.mlp.down_proj"));
  EXPECT_TRUE(is_module_skipped(c, "mlp.down_proj"));
  EXPECT_TRUE(is_module_skipped(c, "model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(is_module_skipped(c, "model.layers.1.self_attn.q_proj"));
  EXPECT_FALSE(is_module_skipped(c, "model.layers.3.mlp.xdown_proj"));
  EXPECT_FALSE(is_module_skipped(c, "model.layers.3.mlp.up_proj"));
  const auto none = config::parse_quantize_config("");
  EXPECT_FALSE(is_module_skipped(none, "model.layers.0.mlp.down_proj"));
}

}  // namespace
}  // namespace gptq::quant
