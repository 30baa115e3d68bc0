// gptq_model_open / gptq_model_info_json through the C API, on the real test
// models and on broken directories.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "gptq/gptq.h"
#include "tests/support/shared_data.h"

namespace {

class ModelApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &ctx_), GPTQ_OK) << gptq_last_error();
  }
  void TearDown() override { gptq_context_destroy(ctx_); }
  gptq_context *ctx_ = nullptr;
};

std::filesystem::path temp_dir(const std::string &name) {
  auto d = std::filesystem::temp_directory_path() / ("gptq_model_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace

TEST_F(ModelApi, OpensTheLlamaTestModelAndDescribesIt) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-llama-16m");
  gptq_model *m = nullptr;
  ASSERT_EQ(gptq_model_open(ctx_, dir.c_str(), &m), GPTQ_OK) << gptq_last_error();
  const char *json = nullptr;
  ASSERT_EQ(gptq_model_info_json(m, &json), GPTQ_OK) << gptq_last_error();
  auto info = nlohmann::json::parse(json);
  EXPECT_EQ(info["model_type"], "llama");
  EXPECT_EQ(info["architecture"], "LlamaForCausalLM");
  EXPECT_EQ(info["num_layers"], 6);
  EXPECT_EQ(info["num_kv_heads"], 2);
  EXPECT_EQ(info["dtype"], "float16");
  EXPECT_EQ(info["shards"].size(), 3u);
  EXPECT_TRUE(info["quantization"].is_null());
  EXPECT_EQ(info["tensors"].size(), 57u);
  // The same pointer on a second call: the string is owned by the model.
  const char *again = nullptr;
  ASSERT_EQ(gptq_model_info_json(m, &again), GPTQ_OK);
  EXPECT_EQ(json, again);
  gptq_model_destroy(m);
}

TEST_F(ModelApi, OpensTheOptTestModel) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-opt-15m");
  gptq_model *m = nullptr;
  ASSERT_EQ(gptq_model_open(ctx_, dir.c_str(), &m), GPTQ_OK) << gptq_last_error();
  const char *json = nullptr;
  ASSERT_EQ(gptq_model_info_json(m, &json), GPTQ_OK);
  auto info = nlohmann::json::parse(json);
  EXPECT_EQ(info["model_type"], "opt");
  EXPECT_EQ(info["shards"].size(), 2u);
  gptq_model_destroy(m);
}

TEST_F(ModelApi, MissingDirectoryIsAnIoErrorNamingIt) {
  gptq_model *m = nullptr;
  EXPECT_EQ(gptq_model_open(ctx_, "/nonexistent/model/dir", &m), GPTQ_ERR_IO);
  EXPECT_NE(std::string(gptq_last_error()).find("/nonexistent/model/dir"), std::string::npos);
  EXPECT_EQ(m, nullptr);
}

TEST_F(ModelApi, BadConfigNamesFileAndField) {
  auto d = temp_dir("badcfg");
  std::ofstream(d / "config.json") << R"({"model_type": "llama", "hidden_size": "wide"})";
  gptq_model *m = nullptr;
  EXPECT_EQ(gptq_model_open(ctx_, d.c_str(), &m), GPTQ_ERR_FORMAT);
  std::string msg = gptq_last_error();
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("hidden_size"), std::string::npos) << msg;
  std::filesystem::remove_all(d);
}

TEST_F(ModelApi, UnsupportedArchitecture) {
  auto d = temp_dir("arch");
  std::ofstream(d / "config.json") << R"({"model_type": "bert"})";
  gptq_model *m = nullptr;
  EXPECT_EQ(gptq_model_open(ctx_, d.c_str(), &m), GPTQ_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(gptq_last_error()).find("bert"), std::string::npos);
  std::filesystem::remove_all(d);
}

TEST_F(ModelApi, NullArguments) {
  gptq_model *m = nullptr;
  EXPECT_EQ(gptq_model_open(nullptr, "x", &m), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_model_open(ctx_, nullptr, &m), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_model_open(ctx_, "x", nullptr), GPTQ_ERR_INVALID_ARGUMENT);
  const char *json = nullptr;
  EXPECT_EQ(gptq_model_info_json(nullptr, &json), GPTQ_ERR_INVALID_ARGUMENT);
  gptq_model_destroy(nullptr);
}
