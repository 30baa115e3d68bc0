// Generation on docs-llama-16m: the greedy continuation the model README
// quotes, streaming that adds up to the decoded tokens, stop strings, EOS,
// the sink stopping, max_new_tokens and seeded sampling.
#include "core/eval/generate.h"

#include <gtest/gtest.h>

#include "core/config/typed.h"
#include "core/model/model.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"
#include "tests/support/test_engines.h"

namespace gptq::eval {
namespace {

const char *const kPrompt = "To create a table in PostgreSQL, use the";

class Generate : public ::testing::Test {
 protected:
  void SetUp() override {
    GPTQ_REQUIRE_SHARED(dir, "models/docs-llama-16m");
    model_ = model::Model::open(dir);
    forward_ = test_prepare(*model_);
  }
  GenerationResult run(const std::string &config_json, const TokenSink &sink = {}) {
    return generate(test_pool(), test_forward_engine(), *forward_, *model_->tokenizer(), kPrompt, config::parse_generation_config(config_json), sink);
  }
  std::unique_ptr<model::Model> model_;
  std::shared_ptr<const PreparedModel> forward_;
};

TEST_F(Generate, GreedyContinuesAsTheReadmeSays) {
  std::string streamed;
  int pieces = 0;
  const GenerationResult r = run(R"({"temperature": 0, "max_new_tokens": 24})", [&](std::string_view p, int32_t) {
    streamed += p;
    ++pieces;
    return true;
  });
  // The continuation keeps the space before its first word, as a streamer that
  // decodes prompt + continuation shows it (HF's TextStreamer, pipeline text).
  EXPECT_EQ(r.text.rfind(" CREATE TABLE command.", 0), 0u) << r.text;
  EXPECT_EQ(r.tokens.size(), 24u);
  EXPECT_EQ(r.reason, StopReason::MaxTokens);
  EXPECT_EQ(streamed, r.text);
  EXPECT_GE(pieces, 24);
  std::vector<int32_t> all = r.prompt_ids;
  all.insert(all.end(), r.tokens.begin(), r.tokens.end());
  const std::string prompt_text = model_->tokenizer()->decode(r.prompt_ids, true);
  EXPECT_EQ(prompt_text + r.text, model_->tokenizer()->decode(all, true));
  EXPECT_EQ(r.prompt_ids, model_->tokenizer()->encode(kPrompt));
}

TEST_F(Generate, StopStringIsNotEmitted) {
  const GenerationResult r = run(R"({"temperature": 0, "max_new_tokens": 24, "stop": [" command"]})");
  EXPECT_EQ(r.text, " CREATE TABLE");
  EXPECT_EQ(r.reason, StopReason::StopString);
}

TEST_F(Generate, SinkCanStop) {
  const GenerationResult r = run(R"({"temperature": 0})", [](std::string_view, int32_t) { return false; });
  EXPECT_EQ(r.tokens.size(), 1u);
  EXPECT_EQ(r.reason, StopReason::Sink);
}

TEST_F(Generate, EosEndsGenerationUnlessIgnored) {
  // The greedy text reaches </s> within a few hundred tokens or not at all;
  // either way stop_at_eos=false must run to max_new_tokens without it.
  const GenerationResult free_run = run(R"({"temperature": 0, "max_new_tokens": 48, "stop_at_eos": false})");
  EXPECT_EQ(free_run.tokens.size(), 48u);
  const GenerationResult r = run(R"({"temperature": 0, "max_new_tokens": 48})");
  const auto eos = std::find(free_run.tokens.begin(), free_run.tokens.end(), 2);
  EXPECT_EQ(r.tokens.size(), static_cast<std::size_t>(eos - free_run.tokens.begin()));
  EXPECT_EQ(r.reason, eos == free_run.tokens.end() ? StopReason::MaxTokens : StopReason::Eos);
}

TEST_F(Generate, SeededSamplingRepeats) {
  const std::string cfg = R"({"temperature": 0.9, "top_k": 50, "top_p": 0.95, "seed": 7, "max_new_tokens": 16})";
  const GenerationResult a = run(cfg), b = run(cfg);
  EXPECT_EQ(a.tokens, b.tokens);
  const GenerationResult c = run(R"({"temperature": 0.9, "top_k": 50, "top_p": 0.95, "seed": 8, "max_new_tokens": 16})");
  EXPECT_NE(a.tokens, c.tokens);
}

TEST_F(Generate, ZeroNewTokens) {
  const GenerationResult r = run(R"({"max_new_tokens": 0})");
  EXPECT_TRUE(r.tokens.empty());
  EXPECT_TRUE(r.text.empty());
}

}  // namespace
}  // namespace gptq::eval
