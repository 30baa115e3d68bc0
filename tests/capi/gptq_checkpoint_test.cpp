// A GPTQ checkpoint written by the library (core writer, RTN on the OPT test
// model) opens through gptq_model_open, and its ModelInfo reports the
// quantization and the packed tensors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/config/typed.h"
#include "core/gptq_format/gptq_checkpoint_writer.h"
#include "core/model/block_linears.h"
#include "gptq/gptq.h"
#include "tests/core/gptq_format/gptq_checkpoint_test_support.h"
#include "tests/core/io/io_test_support.h"
#include "tests/support/shared_data.h"

namespace {

TEST(GptqCheckpointApi, OpensAWrittenCheckpoint) {
  GPTQ_REQUIRE_SHARED(src, "models/docs-opt-15m");
  gptq::testing::TempDir tmp;
  const auto out = tmp / "opt-gptq";
  const auto config =
      gptq::config::parse_quantize_config(R"({"bits": 4, "group_size": 128, "desc_act": false})");
  {
    const auto source = gptq::model::Model::open(src);
    gptq::io::GptqCheckpointWriter writer(source->weights(), config, gptq::model::block_linears(source->spec()), out);
    gptq::testing::quantize_into(*source, config, gptq::testing::Method::Rtn, writer,
                                 gptq::quant::CheckpointFormat::V1);
    writer.finish();
  }
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &ctx), GPTQ_OK);
  gptq_model *m = nullptr;
  ASSERT_EQ(gptq_model_open(ctx, out.c_str(), &m), GPTQ_OK) << gptq_last_error();
  const char *json = nullptr;
  ASSERT_EQ(gptq_model_info_json(m, &json), GPTQ_OK) << gptq_last_error();
  const auto info = nlohmann::json::parse(json);
  EXPECT_EQ(info["model_type"], "opt");
  ASSERT_TRUE(info["quantization"].is_object());
  EXPECT_EQ(info["quantization"]["bits"], 4);
  EXPECT_EQ(info["quantization"]["group_size"], 128);
  EXPECT_EQ(info["quantization"]["desc_act"], false);
  EXPECT_EQ(info["quantization"]["checkpoint_format"], "gptq");
  std::map<std::string, nlohmann::json> tensors;
  for (const auto &t : info["tensors"]) tensors[t["name"]] = t;
  const auto &qw = tensors.at("model.decoder.layers.5.fc1.qweight");
  EXPECT_EQ(qw["dtype"], "I32");
  EXPECT_EQ(qw["shape"], nlohmann::json::parse("[48, 1536]"));
  EXPECT_EQ(tensors.at("model.decoder.layers.5.fc1.scales")["dtype"], "F16");
  EXPECT_EQ(tensors.at("model.decoder.layers.5.fc1.scales")["shape"], nlohmann::json::parse("[3, 1536]"));
  EXPECT_EQ(tensors.count("model.decoder.layers.5.fc1.weight"), 0u);
  EXPECT_EQ(tensors.at("model.decoder.embed_tokens.weight")["dtype"], "F16");
  // The tokenizer came along.
  size_t n = 0;
  const gptq_tokenizer *tok = nullptr;
  ASSERT_EQ(gptq_model_tokenizer(m, &tok), GPTQ_OK) << gptq_last_error();
  EXPECT_EQ(gptq_tokenize(tok, "hello", 5, 0, nullptr, 0, &n), GPTQ_ERR_BUFFER_TOO_SMALL);
  EXPECT_GT(n, 1u);
  gptq_model_destroy(m);
  gptq_context_destroy(ctx);
}

}  // namespace
