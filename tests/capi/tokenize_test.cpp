// gptq_tokenize / gptq_detokenize through the C API: ids as HF gives them
// (golden hard cases), the caller's-buffer rule, flags and bad ids. Exactness
// on whole texts is tested in tests/core/tokenizer/.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gptq/gptq.h"
#include "tests/support/shared_data.h"

namespace {

class TokenizeApi : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override {
    ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &ctx_), GPTQ_OK);
  }
  void TearDown() override {
    gptq_model_destroy(model_);
    gptq_context_destroy(ctx_);
  }
  nlohmann::json goldens() const {
    std::ifstream in(gptq::testing::source_dir() / "tests/data/tokenizer" /
                     (std::string("goldens-") + GetParam() + ".json"));
    return nlohmann::json::parse(in);
  }
  gptq_context *ctx_ = nullptr;
  gptq_model *model_ = nullptr;
};

std::vector<int32_t> tokenize(const gptq_model *m, const std::string &text, uint32_t flags) {
  size_t n = 0;
  const gptq_status probe = gptq_tokenize(m, text.data(), text.size(), flags, nullptr, 0, &n);
  // Zero ids fit a zero-capacity buffer; anything else must be asked for again.
  EXPECT_EQ(probe, n == 0 ? GPTQ_OK : GPTQ_ERR_BUFFER_TOO_SMALL);
  std::vector<int32_t> ids(n);
  EXPECT_EQ(gptq_tokenize(m, text.data(), text.size(), flags, ids.data(), ids.size(), &n), GPTQ_OK)
      << gptq_last_error();
  return ids;
}

std::string detokenize(const gptq_model *m, const std::vector<int32_t> &ids, uint32_t flags) {
  size_t len = 0;
  gptq_status st = gptq_detokenize(m, ids.data(), ids.size(), flags, nullptr, 0, &len);
  EXPECT_EQ(st, GPTQ_ERR_BUFFER_TOO_SMALL);
  std::string text(len + 1, '\0');
  EXPECT_EQ(gptq_detokenize(m, ids.data(), ids.size(), flags, text.data(), text.size(), &len), GPTQ_OK)
      << gptq_last_error();
  text.resize(len);
  return text;
}

}  // namespace

TEST_P(TokenizeApi, MatchesTheGoldenHardCases) {
  GPTQ_REQUIRE_SHARED(dir, std::string("models/") + GetParam());
  ASSERT_EQ(gptq_model_open(ctx_, dir.c_str(), &model_), GPTQ_OK) << gptq_last_error();
  auto g = goldens();
  std::ifstream cases_in(gptq::testing::source_dir() / "tests/data/tokenizer/hard_cases.json");
  auto cases = nlohmann::json::parse(cases_in);
  int checked = 0;
  for (const auto &c : cases) {
    if (!c.contains("text")) continue;  // invalid UTF-8 cases are covered in core tests
    const std::string name = c["name"], text = c["text"];
    const auto &want = g["hard_cases"][name];
    EXPECT_EQ(tokenize(model_, text, 0), want["ids"].get<std::vector<int32_t>>()) << name;
    EXPECT_EQ(tokenize(model_, text, GPTQ_TOKENIZE_NO_SPECIAL),
              want["ids_no_special"].get<std::vector<int32_t>>())
        << name;
    auto ids = want["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(detokenize(model_, ids, 0), want["decoded"].get<std::string>()) << name;
    EXPECT_EQ(detokenize(model_, ids, GPTQ_DETOKENIZE_SKIP_SPECIAL),
              want["decoded_skip"].get<std::string>())
        << name;
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST_P(TokenizeApi, ShortBufferReportsTheSizeAndWritesNothing) {
  GPTQ_REQUIRE_SHARED(dir, std::string("models/") + GetParam());
  ASSERT_EQ(gptq_model_open(ctx_, dir.c_str(), &model_), GPTQ_OK) << gptq_last_error();
  std::string text = "To create a table in PostgreSQL, use the CREATE TABLE command.";
  int32_t ids[3] = {-7, -7, -7};
  size_t n = 0;
  EXPECT_EQ(gptq_tokenize(model_, text.data(), text.size(), 0, ids, 3, &n), GPTQ_ERR_BUFFER_TOO_SMALL);
  EXPECT_GT(n, 3u);
  EXPECT_EQ(ids[0], -7);
  auto all = tokenize(model_, text, 0);
  EXPECT_EQ(all.size(), n);
  char buf[4] = {'x', 'x', 'x', 'x'};
  size_t len = 0;
  EXPECT_EQ(gptq_detokenize(model_, all.data(), all.size(), GPTQ_DETOKENIZE_SKIP_SPECIAL, buf, 4, &len),
            GPTQ_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, text.size());
  EXPECT_EQ(buf[0], 'x');
}

TEST_P(TokenizeApi, BadIdsAndFlagsAreRejected) {
  GPTQ_REQUIRE_SHARED(dir, std::string("models/") + GetParam());
  ASSERT_EQ(gptq_model_open(ctx_, dir.c_str(), &model_), GPTQ_OK) << gptq_last_error();
  int32_t bad[2] = {5, 1 << 30};
  char buf[64];
  size_t len = 0;
  EXPECT_EQ(gptq_detokenize(model_, bad, 2, 0, buf, sizeof buf, &len), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("ids[1]"), std::string::npos) << gptq_last_error();
  int32_t neg = -1;
  EXPECT_EQ(gptq_detokenize(model_, &neg, 1, 0, buf, sizeof buf, &len), GPTQ_ERR_INVALID_ARGUMENT);
  size_t n = 0;
  EXPECT_EQ(gptq_tokenize(model_, "a", 1, 0x80, nullptr, 0, &n), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("flags"), std::string::npos);
  EXPECT_EQ(gptq_tokenize(model_, nullptr, 3, 0, nullptr, 0, &n), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_tokenize(nullptr, "a", 1, 0, nullptr, 0, &n), GPTQ_ERR_INVALID_ARGUMENT);
}

INSTANTIATE_TEST_SUITE_P(Models, TokenizeApi, ::testing::Values("docs-llama-16m", "docs-opt-15m"));
