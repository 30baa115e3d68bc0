// gptq_perplexity, gptq_session_* and gptq_generate through the C API on the
// real test models: results, streaming, cancellation, argument checks.
// Accuracy is tested in tests/core/eval/.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gptq/gptq.h"
#include "tests/support/shared_data.h"

namespace {

const std::string kText =
    "PostgreSQL is a powerful, open source object-relational database system. It has more than "
    "thirty years of active development and a proven architecture that has earned it a strong "
    "reputation for reliability, feature robustness, and performance. ";

class InferenceApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &ctx_), GPTQ_OK);
    GPTQ_REQUIRE_SHARED(dir, "models/docs-llama-16m");
    ASSERT_EQ(gptq_model_open(ctx_, dir.c_str(), &model_), GPTQ_OK) << gptq_last_error();
  }
  void TearDown() override {
    gptq_session_destroy(session_);
    gptq_model_destroy(model_);
    gptq_context_destroy(ctx_);
  }
  gptq_context *ctx_ = nullptr;
  gptq_model *model_ = nullptr;
  gptq_session *session_ = nullptr;
};

struct Progress {
  std::vector<uint64_t> done;
  uint64_t total = 0;
  uint64_t cancel_at = 0;  // 0: never
};

int on_progress(void *user, const char *stage, uint64_t done, uint64_t total) {
  auto *p = static_cast<Progress *>(user);
  EXPECT_STREQ(stage, "perplexity");
  p->done.push_back(done);
  p->total = total;
  return p->cancel_at && done >= p->cancel_at;
}

TEST_F(InferenceApi, PerplexityReportsWindowsAndTokens) {
  const std::string text = kText + kText + kText;
  Progress progress;
  double ppl = 0;
  size_t windows = 0, tokens = 0;
  ASSERT_EQ(gptq_perplexity(ctx_, model_, text.data(), text.size(), R"({"seqlen": 32})", on_progress,
                            &progress, &ppl, &windows, &tokens),
            GPTQ_OK)
      << gptq_last_error();
  EXPECT_GT(windows, 2u);
  EXPECT_EQ(tokens, windows * 31);
  EXPECT_GT(ppl, 1.0);
  EXPECT_LT(ppl, 1000.0);
  // 0 at the start, then each window, maybe more calls in between: done
  // never decreases and takes every value up to the windows.
  ASSERT_FALSE(progress.done.empty());
  EXPECT_EQ(progress.done.front(), 0u);
  EXPECT_TRUE(std::is_sorted(progress.done.begin(), progress.done.end()));
  for (uint64_t w = 0; w <= windows; ++w)
    EXPECT_NE(std::find(progress.done.begin(), progress.done.end(), w), progress.done.end()) << w;
  EXPECT_EQ(progress.done.back(), windows);
  EXPECT_EQ(progress.total, windows);

  double first_two = 0;
  ASSERT_EQ(gptq_perplexity(ctx_, model_, text.data(), text.size(), R"({"seqlen": 32, "max_windows": 2})",
                            nullptr, nullptr, &first_two, nullptr, nullptr),
            GPTQ_OK);
  EXPECT_NE(first_two, ppl);
}

TEST_F(InferenceApi, PerplexityCanBeCancelled) {
  const std::string text = kText + kText;
  Progress progress;
  progress.cancel_at = 1;
  double ppl = -1;
  EXPECT_EQ(gptq_perplexity(ctx_, model_, text.data(), text.size(), R"({"seqlen": 16})", on_progress, &progress,
                            &ppl, nullptr, nullptr),
            GPTQ_ERR_CANCELLED);
  EXPECT_EQ(progress.done.back(), 1u);  // no call after the one that cancelled
  EXPECT_EQ(ppl, -1);                   // untouched on failure
}

TEST_F(InferenceApi, PerplexityArgumentErrors) {
  double ppl = 0;
  EXPECT_EQ(gptq_perplexity(ctx_, model_, "short", 5, nullptr, nullptr, nullptr, &ppl, nullptr, nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("fewer than one window"), std::string::npos) << gptq_last_error();
  EXPECT_EQ(gptq_perplexity(ctx_, model_, kText.data(), kText.size(), R"({"seqlen": 1})", nullptr, nullptr, &ppl,
                            nullptr, nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("seqlen"), std::string::npos);
  EXPECT_EQ(gptq_perplexity(ctx_, model_, kText.data(), kText.size(), R"({"windows": 3})", nullptr, nullptr, &ppl,
                            nullptr, nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_perplexity(nullptr, model_, kText.data(), kText.size(), nullptr, nullptr, nullptr, &ppl, nullptr,
                            nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_perplexity(ctx_, nullptr, kText.data(), kText.size(), nullptr, nullptr, nullptr, &ppl, nullptr,
                            nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_perplexity(ctx_, model_, kText.data(), kText.size(), nullptr, nullptr, nullptr, nullptr, nullptr,
                            nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
}

struct Stream {
  std::string text;
  std::vector<int32_t> ids;
  size_t stop_after = 0;  // 0: never
};

int on_token(void *user, const char *piece, int32_t id) {
  auto *s = static_cast<Stream *>(user);
  s->text += piece;
  s->ids.push_back(id);
  return s->stop_after && s->ids.size() >= s->stop_after;
}

TEST_F(InferenceApi, GreedyGenerationStreams) {
  ASSERT_EQ(gptq_session_create(ctx_, model_, R"({"temperature": 0, "max_new_tokens": 12})", &session_), GPTQ_OK)
      << gptq_last_error();
  const std::string prompt = "To create a table in PostgreSQL, use the";
  Stream s;
  ASSERT_EQ(gptq_generate(session_, prompt.data(), prompt.size(), on_token, &s), GPTQ_OK) << gptq_last_error();
  EXPECT_EQ(s.text.rfind(" CREATE TABLE command.", 0), 0u) << s.text;
  EXPECT_GE(s.ids.size(), 12u);
  for (size_t i = 0; i < 12; ++i) EXPECT_GE(s.ids[i], 0);
  // A session carries nothing between calls: the same prompt gives the same text.
  Stream again;
  ASSERT_EQ(gptq_generate(session_, prompt.data(), prompt.size(), on_token, &again), GPTQ_OK);
  EXPECT_EQ(again.text, s.text);
  // The callback may stop it, and may be NULL.
  Stream one;
  one.stop_after = 1;
  ASSERT_EQ(gptq_generate(session_, prompt.data(), prompt.size(), on_token, &one), GPTQ_OK);
  EXPECT_EQ(one.ids.size(), 1u);
  EXPECT_EQ(gptq_generate(session_, prompt.data(), prompt.size(), nullptr, nullptr), GPTQ_OK);
}

TEST_F(InferenceApi, StopStringsAreHonoured) {
  ASSERT_EQ(gptq_session_create(ctx_, model_, R"({"temperature": 0, "stop": [" command"]})", &session_), GPTQ_OK);
  const std::string prompt = "To create a table in PostgreSQL, use the";
  Stream s;
  ASSERT_EQ(gptq_generate(session_, prompt.data(), prompt.size(), on_token, &s), GPTQ_OK);
  EXPECT_EQ(s.text, " CREATE TABLE");
}

TEST_F(InferenceApi, SessionArgumentErrors) {
  EXPECT_EQ(gptq_session_create(ctx_, model_, R"({"top_p": 2})", &session_), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("top_p"), std::string::npos) << gptq_last_error();
  EXPECT_EQ(session_, nullptr);
  EXPECT_EQ(gptq_session_create(ctx_, nullptr, nullptr, &session_), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_session_create(ctx_, model_, nullptr, nullptr), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_generate(nullptr, "a", 1, nullptr, nullptr), GPTQ_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(gptq_session_create(ctx_, model_, nullptr, &session_), GPTQ_OK);
  EXPECT_EQ(gptq_generate(session_, nullptr, 3, nullptr, nullptr), GPTQ_ERR_INVALID_ARGUMENT);
  gptq_session_destroy(nullptr);
}

TEST(EvalConfig, ConvertsWithDefaultsAndBounds) {
  char out[256];
  size_t n = 0;
  ASSERT_EQ(gptq_config_convert(GPTQ_CONFIG_EVAL, "{}", 2, GPTQ_ENCODING_JSON, GPTQ_ENCODING_JSON, out,
                                sizeof out, &n),
            GPTQ_OK);
  const std::string json(out, n);
  EXPECT_NE(json.find("\"seqlen\": 512"), std::string::npos) << json;
  EXPECT_NE(json.find("\"max_windows\": 0"), std::string::npos) << json;
  const std::string bad = R"({"max_windows": -1})";
  EXPECT_EQ(gptq_config_convert(GPTQ_CONFIG_EVAL, bad.data(), bad.size(), GPTQ_ENCODING_JSON, GPTQ_ENCODING_JSON,
                                out, sizeof out, &n),
            GPTQ_ERR_INVALID_ARGUMENT);
}

}  // namespace
