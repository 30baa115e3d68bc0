// gptq_evaluate, gptq_session_*, gptq_generate and gptq_generate_batch through
// the C API on the real test models: results, streaming, cancellation,
// argument checks.
// Accuracy is tested in tests/core/eval/.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

// gptq_evaluate's EvalReport, parsed; fails the test on an error.
nlohmann::json evaluate(gptq_context *ctx, gptq_model *model, const std::string &text, const char *config,
                        gptq_progress_fn fn = nullptr, void *user = nullptr) {
  const char *report = nullptr;
  EXPECT_EQ(gptq_evaluate(ctx, model, text.data(), text.size(), config, fn, user, &report), GPTQ_OK)
      << gptq_last_error();
  return report ? nlohmann::json::parse(report) : nlohmann::json();
}

TEST_F(InferenceApi, EvaluateReportsWindowsAndTokens) {
  const std::string text = kText + kText + kText;
  Progress progress;
  const nlohmann::json r = evaluate(ctx_, model_, text, R"({"seqlen": 32})", on_progress, &progress);
  ASSERT_TRUE(r.is_object());
  const uint64_t windows = r.at("windows").get<uint64_t>();
  EXPECT_GT(windows, 2u);
  EXPECT_EQ(r.at("tokens").get<uint64_t>(), windows * 31);
  EXPECT_GE(r.at("text_tokens").get<uint64_t>(), windows * 32);
  EXPECT_LT(r.at("text_tokens").get<uint64_t>(), (windows + 1) * 32);
  const double ppl = r.at("ppl").get<double>();
  EXPECT_GT(ppl, 1.0);
  EXPECT_LT(ppl, 1000.0);
  EXPECT_EQ(ppl, std::exp(r.at("nll").get<double>()));  // the same expression as the library's
  ASSERT_EQ(r.at("window_nll").size(), windows);
  double sum = 0;
  for (const auto &w : r.at("window_nll")) sum += w.get<double>();
  EXPECT_NEAR(sum / static_cast<double>(windows), r.at("nll").get<double>(), 1e-12);
  EXPECT_EQ(r.at("config").at("seqlen"), 32);
  EXPECT_EQ(r.at("config").at("max_windows"), 0);
  EXPECT_EQ(r.at("backend"), "cpu");
  EXPECT_GT(r.at("seconds").get<double>(), 0.0);
  // 0 at the start, then each window, maybe more calls in between: done
  // never decreases and takes every value up to the windows.
  ASSERT_FALSE(progress.done.empty());
  EXPECT_EQ(progress.done.front(), 0u);
  EXPECT_TRUE(std::is_sorted(progress.done.begin(), progress.done.end()));
  for (uint64_t w = 0; w <= windows; ++w)
    EXPECT_NE(std::find(progress.done.begin(), progress.done.end(), w), progress.done.end()) << w;
  EXPECT_EQ(progress.done.back(), windows);
  EXPECT_EQ(progress.total, windows);

  const nlohmann::json first_two = evaluate(ctx_, model_, text, R"({"seqlen": 32, "max_windows": 2})");
  EXPECT_EQ(first_two.at("windows"), 2);
  EXPECT_NE(first_two.at("ppl").get<double>(), ppl);
  // The first two windows are the same computation in both runs.
  EXPECT_EQ(first_two.at("window_nll")[0], r.at("window_nll")[0]);
  EXPECT_EQ(first_two.at("window_nll")[1], r.at("window_nll")[1]);
}

// The report is a schema table: it converts (and so validates) as
// GPTQ_CONFIG_EVAL_REPORT, JSON to binary and back, unchanged.
TEST_F(InferenceApi, EvalReportIsASchemaTable) {
  const char *report = nullptr;
  ASSERT_EQ(gptq_evaluate(ctx_, model_, kText.data(), kText.size(), R"({"seqlen": 16})", nullptr, nullptr, &report),
            GPTQ_OK)
      << gptq_last_error();
  const std::string json = report;
  size_t size = 0;
  EXPECT_EQ(gptq_config_convert(GPTQ_CONFIG_EVAL_REPORT, json.data(), json.size(), GPTQ_ENCODING_JSON,
                                GPTQ_ENCODING_BINARY, nullptr, 0, &size),
            GPTQ_ERR_BUFFER_TOO_SMALL);
  std::vector<uint8_t> binary(size);
  ASSERT_EQ(gptq_config_convert(GPTQ_CONFIG_EVAL_REPORT, json.data(), json.size(), GPTQ_ENCODING_JSON,
                                GPTQ_ENCODING_BINARY, binary.data(), binary.size(), &size),
            GPTQ_OK)
      << gptq_last_error();
  std::vector<char> back(json.size() + 1);
  ASSERT_EQ(gptq_config_convert(GPTQ_CONFIG_EVAL_REPORT, binary.data(), binary.size(), GPTQ_ENCODING_BINARY,
                                GPTQ_ENCODING_JSON, back.data(), back.size(), &size),
            GPTQ_OK)
      << gptq_last_error();
  EXPECT_EQ(std::string(back.data(), size), json);
}

TEST_F(InferenceApi, EvaluateCanBeCancelled) {
  const std::string text = kText + kText;
  Progress progress;
  progress.cancel_at = 1;
  const char *report = "untouched";
  EXPECT_EQ(gptq_evaluate(ctx_, model_, text.data(), text.size(), R"({"seqlen": 16})", on_progress, &progress,
                          &report),
            GPTQ_ERR_CANCELLED);
  EXPECT_EQ(progress.done.back(), 1u);  // no call after the one that cancelled
  EXPECT_STREQ(report, "untouched");    // untouched on failure
}

TEST_F(InferenceApi, EvaluateArgumentErrors) {
  const char *r = nullptr;
  EXPECT_EQ(gptq_evaluate(ctx_, model_, "short", 5, nullptr, nullptr, nullptr, &r), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("fewer than one window"), std::string::npos) << gptq_last_error();
  EXPECT_EQ(gptq_evaluate(ctx_, model_, kText.data(), kText.size(), R"({"seqlen": 1})", nullptr, nullptr, &r),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("seqlen"), std::string::npos);
  EXPECT_EQ(gptq_evaluate(ctx_, model_, kText.data(), kText.size(), R"({"windows": 3})", nullptr, nullptr, &r),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_evaluate(nullptr, model_, kText.data(), kText.size(), nullptr, nullptr, nullptr, &r),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_evaluate(ctx_, nullptr, kText.data(), kText.size(), nullptr, nullptr, nullptr, &r),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_evaluate(ctx_, model_, kText.data(), kText.size(), nullptr, nullptr, nullptr, nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(r, nullptr);
  gptq_context *other = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &other), GPTQ_OK);
  EXPECT_EQ(gptq_evaluate(other, model_, kText.data(), kText.size(), nullptr, nullptr, nullptr, &r),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("another context"), std::string::npos) << gptq_last_error();
  gptq_context_destroy(other);
}

// The deprecated three-number form gives the report's numbers.
TEST_F(InferenceApi, DeprecatedPerplexityGivesTheReportsNumbers) {
  const std::string text = kText + kText;
  const nlohmann::json r = evaluate(ctx_, model_, text, R"({"seqlen": 16})");
  double ppl = 0;
  size_t windows = 0, tokens = 0;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  ASSERT_EQ(gptq_perplexity(ctx_, model_, text.data(), text.size(), R"({"seqlen": 16})", nullptr, nullptr, &ppl,
                            &windows, &tokens),
            GPTQ_OK)
      << gptq_last_error();
  EXPECT_EQ(gptq_perplexity(ctx_, model_, text.data(), text.size(), nullptr, nullptr, nullptr, nullptr, nullptr,
                            nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
#pragma GCC diagnostic pop
  EXPECT_EQ(ppl, r.at("ppl").get<double>());
  EXPECT_EQ(windows, r.at("windows").get<size_t>());
  EXPECT_EQ(tokens, r.at("tokens").get<size_t>());
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

// ---- gptq_generate_batch ----

// Prompts of 10, 2 and 20 tokens; their greedy continuations have no
// near-tie (tests/core/eval/generate_test.cpp prints the margins), so a
// batch gives each the text gptq_generate gives it alone, on any CPU.
const std::vector<std::string> kBatchPrompts = {
    "To create a table in PostgreSQL, use the", "SELECT",
    "The PostgreSQL documentation explains how to create an index on a table so that queries which filter on"};

struct BatchStreams {
  std::vector<Stream> of = std::vector<Stream>(kBatchPrompts.size());
  size_t stop_sequence = SIZE_MAX;  // non-zero from its first token
  size_t bad_sequence = 0;          // calls with an index out of range
};

int on_batch_token(void *user, size_t sequence, const char *piece, int32_t id) {
  auto *s = static_cast<BatchStreams *>(user);
  if (sequence >= s->of.size()) {
    ++s->bad_sequence;
    return 1;
  }
  on_token(&s->of[sequence], piece, id);
  return sequence == s->stop_sequence;
}

gptq_status generate_batch(gptq_session *session, const std::vector<std::string> &prompts, BatchStreams *streams) {
  std::vector<const char *> ptrs;
  std::vector<size_t> lens;
  for (const std::string &p : prompts) {
    ptrs.push_back(p.data());
    lens.push_back(p.size());
  }
  return gptq_generate_batch(session, ptrs.data(), lens.data(), prompts.size(), streams ? on_batch_token : nullptr,
                             streams);
}

TEST_F(InferenceApi, BatchGivesEachPromptItsOwnGeneration) {
  ASSERT_EQ(gptq_session_create(ctx_, model_, R"({"temperature": 0, "max_new_tokens": 12})", &session_), GPTQ_OK)
      << gptq_last_error();
  BatchStreams batch;
  ASSERT_EQ(generate_batch(session_, kBatchPrompts, &batch), GPTQ_OK) << gptq_last_error();
  EXPECT_EQ(batch.bad_sequence, 0u);
  for (size_t i = 0; i < kBatchPrompts.size(); ++i) {
    Stream alone;
    ASSERT_EQ(gptq_generate(session_, kBatchPrompts[i].data(), kBatchPrompts[i].size(), on_token, &alone), GPTQ_OK);
    EXPECT_EQ(batch.of[i].text, alone.text) << "sequence " << i;
    EXPECT_EQ(batch.of[i].ids, alone.ids) << "sequence " << i;
  }
  EXPECT_EQ(batch.of[0].text.rfind(" CREATE TABLE command.", 0), 0u) << batch.of[0].text;
  // on_token stopping sequence 1 stops it alone; a NULL on_token is fine.
  BatchStreams cut;
  cut.stop_sequence = 1;
  ASSERT_EQ(generate_batch(session_, kBatchPrompts, &cut), GPTQ_OK) << gptq_last_error();
  EXPECT_EQ(cut.of[1].ids.size(), 1u);
  EXPECT_EQ(cut.of[0].ids, batch.of[0].ids);
  EXPECT_EQ(cut.of[2].ids, batch.of[2].ids);
  EXPECT_EQ(generate_batch(session_, kBatchPrompts, nullptr), GPTQ_OK) << gptq_last_error();
}

TEST_F(InferenceApi, BatchProgressCoversEverySequenceAndCancelsAll) {
  ASSERT_EQ(gptq_session_create(ctx_, model_, R"({"temperature": 0, "max_new_tokens": 6, "stop_at_eos": false})",
                                &session_),
            GPTQ_OK);
  struct Seen {
    uint64_t done = 0, total = 0, cancel_at = UINT64_MAX;
  } seen;
  auto on_progress = [](void *user, const char *stage, uint64_t done, uint64_t total) {
    auto *s = static_cast<Seen *>(user);
    EXPECT_STREQ(stage, "generate");
    s->done = done;
    s->total = total;
    return done >= s->cancel_at ? 1 : 0;
  };
  ASSERT_EQ(gptq_session_set_progress(session_, on_progress, &seen), GPTQ_OK);
  BatchStreams batch;
  ASSERT_EQ(generate_batch(session_, kBatchPrompts, &batch), GPTQ_OK) << gptq_last_error();
  const gptq_tokenizer *tok = nullptr;
  ASSERT_EQ(gptq_model_tokenizer(model_, &tok), GPTQ_OK);
  uint64_t prompt_tokens = 0;
  for (const std::string &p : kBatchPrompts) {
    size_t n = 0;
    ASSERT_EQ(gptq_tokenize(tok, p.data(), p.size(), 0, nullptr, 0, &n), GPTQ_ERR_BUFFER_TOO_SMALL);
    prompt_tokens += n;
  }
  EXPECT_EQ(seen.total, prompt_tokens + 6 * kBatchPrompts.size());
  EXPECT_EQ(seen.done, prompt_tokens + 5 * kBatchPrompts.size());  // each sequence's last token is not run
  // A cancel once the prompts have run stops every sequence.
  seen = Seen{};
  seen.cancel_at = prompt_tokens + 1;
  BatchStreams cancelled;
  EXPECT_EQ(generate_batch(session_, kBatchPrompts, &cancelled), GPTQ_ERR_CANCELLED);
  for (const Stream &s : cancelled.of) EXPECT_LE(s.ids.size(), 2u);
}

TEST_F(InferenceApi, BatchArgumentErrors) {
  ASSERT_EQ(gptq_session_create(ctx_, model_, R"({"max_new_tokens": 2040})", &session_), GPTQ_OK);
  const char *prompts[] = {"a", nullptr, "b"};
  const size_t lens[] = {1, 0, 1};
  auto expect_error = [](gptq_status st, const std::string &words) {
    EXPECT_EQ(st, GPTQ_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gptq_last_error()).find(words), std::string::npos) << gptq_last_error();
  };
  expect_error(gptq_generate_batch(nullptr, prompts, lens, 3, nullptr, nullptr), "'session'");
  expect_error(gptq_generate_batch(session_, prompts, lens, 0, nullptr, nullptr), "'count'");
  expect_error(gptq_generate_batch(session_, nullptr, lens, 3, nullptr, nullptr), "'prompts'");
  expect_error(gptq_generate_batch(session_, prompts, nullptr, 3, nullptr, nullptr), "'lens'");
  const size_t bad_lens[] = {1, 4, 1};
  expect_error(gptq_generate_batch(session_, prompts, bad_lens, 3, nullptr, nullptr), "'prompts[1]'");
  // Prompt 2 and 2040 new tokens pass the 2048 positions; refused before anything runs.
  const std::string long_prompt = kBatchPrompts[2];
  const char *fit[] = {"a", "b", long_prompt.c_str()};
  const size_t fit_lens[] = {1, 1, long_prompt.size()};
  BatchStreams none;
  expect_error(gptq_generate_batch(session_, fit, fit_lens, 3, on_batch_token, &none), "prompt 2");
  for (const Stream &s : none.of) EXPECT_TRUE(s.ids.empty());
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
