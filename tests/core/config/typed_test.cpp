// core/config/typed.h: configs as the flatc object-API structs.
#include "core/config/typed.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/core/config/config_test_util.h"

namespace gptq::config {
namespace {

using ::testing::HasSubstr;

TEST(Typed, QuantizeConfigDefaultsWithSubTablesFilled) {
  const schema::QuantizeConfigT q = parse_quantize_config("");
  EXPECT_EQ(q.bits, 4);
  EXPECT_EQ(q.group_size, 128);
  EXPECT_FALSE(q.desc_act);
  EXPECT_FLOAT_EQ(q.damp_percent, 0.05f);
  ASSERT_NE(q.mse, nullptr);
  EXPECT_EQ(q.mse->grid, 100);
  EXPECT_FLOAT_EQ(q.mse->norm, 2.4f);
  ASSERT_NE(q.calibration, nullptr);
  EXPECT_EQ(q.calibration->nsamples, 128);
  EXPECT_EQ(q.checkpoint_format, schema::CheckpointFormat::gptq);
}

TEST(Typed, ValuesFromJson) {
  const schema::QuantizeConfigT q = parse_quantize_config(
      R"({"bits": 3, "group_size": 64, "mse": {"enabled": true}, "checkpoint_format": "gptq_v2",
          "modules_to_skip": ["lm_head"], "calibration": {"token_ids": [5, 6]}})");
  EXPECT_EQ(q.bits, 3);
  EXPECT_EQ(q.group_size, 64);
  EXPECT_TRUE(q.mse->enabled);
  EXPECT_EQ(q.mse->grid, 100);
  EXPECT_EQ(q.checkpoint_format, schema::CheckpointFormat::gptq_v2);
  EXPECT_EQ(q.modules_to_skip, std::vector<std::string>{"lm_head"});
  EXPECT_EQ(q.calibration->token_ids, (std::vector<int32_t>{5, 6}));

  EXPECT_EQ(parse_runtime_config(R"({"backend": "auto"})").backend, schema::Backend::auto_);
  EXPECT_EQ(parse_runtime_config("").log_level, schema::LogLevel::warn);
  EXPECT_EQ(parse_generation_config(R"({"top_k": 40})").top_k, 40);
  EXPECT_EQ(parse_calibration_config(R"({"seqlen": 512})").seqlen, 512);
}

TEST(Typed, SubTablesInsideReportsAreFilledToo) {
  const schema::QuantizeReportT r =
      parse_quantize_report(R"({"layers": [{"name": "q_proj"}], "config": {"bits": 8}})");
  ASSERT_NE(r.config, nullptr);
  EXPECT_EQ(r.config->bits, 8);
  ASSERT_NE(r.config->mse, nullptr);
  ASSERT_NE(r.config->calibration, nullptr);
  ASSERT_EQ(r.layers.size(), 1u);
  EXPECT_EQ(r.layers[0]->name, "q_proj");
  EXPECT_EQ(r.layers[0]->rtn_loss, -1.0);
  EXPECT_NE(parse_quantize_report("").config, nullptr);
}

TEST(Typed, OptionalQuantizationOfModelInfoStaysNull) {
  EXPECT_EQ(parse_model_info(R"({"model_type": "opt"})").quantization, nullptr);
  const schema::ModelInfoT m = parse_model_info(R"({"quantization": {"group_size": 128}})");
  ASSERT_NE(m.quantization, nullptr);
  EXPECT_EQ(m.quantization->group_size, 128);
  EXPECT_NE(m.quantization->mse, nullptr);
}

TEST(Typed, ErrorsAreTheCodecErrors) {
  EXPECT_THAT(testing::error_of([] { parse_quantize_config(R"({"bits": 5})"); }),
              HasSubstr("bits: 5 is not allowed (allowed: 2, 3, 4, 8)"));
}

TEST(Typed, ObjectToJsonAndBinaryAndBack) {
  schema::QuantizeReportT r;
  r.seconds = 12.75;
  r.backend = "cpu";
  auto layer = std::make_unique<schema::LayerReportT>();
  layer->name = "model.layers.0.mlp.up_proj";
  layer->loss = 0.1 + 0.2;
  layer->damp = 0.0123f;
  r.layers.push_back(std::move(layer));
  // r.config left null: it is written with its defaults.
  const std::string json = to_json(r);
  const schema::QuantizeReportT back = parse_quantize_report(json);
  EXPECT_EQ(back.seconds, 12.75);
  EXPECT_EQ(back.backend, "cpu");
  ASSERT_EQ(back.layers.size(), 1u);
  EXPECT_EQ(back.layers[0]->loss, 0.1 + 0.2);
  EXPECT_EQ(back.layers[0]->damp, 0.0123f);
  ASSERT_NE(back.config, nullptr);
  EXPECT_EQ(back.config->bits, 4);

  const schema::QuantizeReportT from_binary = parse_binary<schema::QuantizeReportT>(to_binary(r));
  EXPECT_EQ(to_json(from_binary), json);
}

TEST(Typed, ObjectsOutOfRangeAreNotWritten) {
  schema::GenerationConfigT g;
  g.top_p = 2.0f;
  EXPECT_THAT(testing::error_of([&] { to_json(g); }), HasSubstr("top_p: 2 is out of range"));
  schema::QuantizeReportT r;
  r.seconds = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(testing::error_of([&] { to_binary(r); }),
              HasSubstr("seconds: nan is not a finite number"));
}

}  // namespace
}  // namespace gptq::config
