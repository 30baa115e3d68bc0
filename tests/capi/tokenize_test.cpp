// gptq_tokenize / gptq_detokenize through the C API: ids as HF gives them
// (golden hard cases), the caller's-buffer rule, flags and bad ids; the model's
// tokenizer and one opened on its own (gptq_tokenizer_open), with their
// ownership and errors. Exactness on whole texts is tested in tests/core/tokenizer/.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

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
  // Opens the model and takes its tokenizer into tok_.
  void open_model(const std::filesystem::path &dir) {
    ASSERT_EQ(gptq_model_open(ctx_, dir.c_str(), &model_), GPTQ_OK) << gptq_last_error();
    ASSERT_EQ(gptq_model_tokenizer(model_, &tok_), GPTQ_OK) << gptq_last_error();
  }
  gptq_context *ctx_ = nullptr;
  gptq_model *model_ = nullptr;
  const gptq_tokenizer *tok_ = nullptr;
};

std::vector<int32_t> tokenize(const gptq_tokenizer *m, const std::string &text, uint32_t flags) {
  size_t n = 0;
  const gptq_status probe = gptq_tokenize(m, text.data(), text.size(), flags, nullptr, 0, &n);
  // Zero ids fit a zero-capacity buffer; anything else must be asked for again.
  EXPECT_EQ(probe, n == 0 ? GPTQ_OK : GPTQ_ERR_BUFFER_TOO_SMALL);
  std::vector<int32_t> ids(n);
  EXPECT_EQ(gptq_tokenize(m, text.data(), text.size(), flags, ids.data(), ids.size(), &n), GPTQ_OK)
      << gptq_last_error();
  return ids;
}

std::string detokenize(const gptq_tokenizer *m, const std::vector<int32_t> &ids, uint32_t flags) {
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
  open_model(dir);
  auto g = goldens();
  std::ifstream cases_in(gptq::testing::source_dir() / "tests/data/tokenizer/hard_cases.json");
  auto cases = nlohmann::json::parse(cases_in);
  int checked = 0;
  for (const auto &c : cases) {
    if (!c.contains("text")) continue;  // invalid UTF-8 cases are covered in core tests
    const std::string name = c["name"], text = c["text"];
    const auto &want = g["hard_cases"][name];
    EXPECT_EQ(tokenize(tok_, text, 0), want["ids"].get<std::vector<int32_t>>()) << name;
    EXPECT_EQ(tokenize(tok_, text, GPTQ_TOKENIZE_NO_SPECIAL),
              want["ids_no_special"].get<std::vector<int32_t>>())
        << name;
    auto ids = want["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(detokenize(tok_, ids, 0), want["decoded"].get<std::string>()) << name;
    EXPECT_EQ(detokenize(tok_, ids, GPTQ_DETOKENIZE_SKIP_SPECIAL),
              want["decoded_skip"].get<std::string>())
        << name;
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST_P(TokenizeApi, ShortBufferReportsTheSizeAndWritesNothing) {
  GPTQ_REQUIRE_SHARED(dir, std::string("models/") + GetParam());
  open_model(dir);
  std::string text = "To create a table in PostgreSQL, use the CREATE TABLE command.";
  int32_t ids[3] = {-7, -7, -7};
  size_t n = 0;
  EXPECT_EQ(gptq_tokenize(tok_, text.data(), text.size(), 0, ids, 3, &n), GPTQ_ERR_BUFFER_TOO_SMALL);
  EXPECT_GT(n, 3u);
  EXPECT_EQ(ids[0], -7);
  auto all = tokenize(tok_, text, 0);
  EXPECT_EQ(all.size(), n);
  char buf[4] = {'x', 'x', 'x', 'x'};
  size_t len = 0;
  EXPECT_EQ(gptq_detokenize(tok_, all.data(), all.size(), GPTQ_DETOKENIZE_SKIP_SPECIAL, buf, 4, &len),
            GPTQ_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, text.size());
  EXPECT_EQ(buf[0], 'x');
}

TEST_P(TokenizeApi, BadIdsAndFlagsAreRejected) {
  GPTQ_REQUIRE_SHARED(dir, std::string("models/") + GetParam());
  open_model(dir);
  int32_t bad[2] = {5, 1 << 30};
  char buf[64];
  size_t len = 0;
  EXPECT_EQ(gptq_detokenize(tok_, bad, 2, 0, buf, sizeof buf, &len), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("ids[1]"), std::string::npos) << gptq_last_error();
  int32_t neg = -1;
  EXPECT_EQ(gptq_detokenize(tok_, &neg, 1, 0, buf, sizeof buf, &len), GPTQ_ERR_INVALID_ARGUMENT);
  size_t n = 0;
  EXPECT_EQ(gptq_tokenize(tok_, "a", 1, 0x80, nullptr, 0, &n), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("flags"), std::string::npos);
  EXPECT_EQ(gptq_tokenize(tok_, nullptr, 3, 0, nullptr, 0, &n), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_tokenize(nullptr, "a", 1, 0, nullptr, 0, &n), GPTQ_ERR_INVALID_ARGUMENT);
}

// gptq_tokenizer_open on the model directory or its tokenizer.json gives the
// model's own ids, without opening the model.
TEST_P(TokenizeApi, OpenedTokenizerMatchesTheModels) {
  GPTQ_REQUIRE_SHARED(dir, std::string("models/") + GetParam());
  open_model(dir);
  std::ifstream cases_in(gptq::testing::source_dir() / "tests/data/tokenizer/hard_cases.json");
  const auto cases = nlohmann::json::parse(cases_in);
  for (const auto &path : {dir, dir / "tokenizer.json"}) {
    gptq_tokenizer *own = nullptr;
    ASSERT_EQ(gptq_tokenizer_open(path.c_str(), &own), GPTQ_OK) << gptq_last_error();
    for (const auto &c : cases) {
      if (!c.contains("text")) continue;
      const std::string text = c["text"];
      const auto ids = tokenize(own, text, 0);
      EXPECT_EQ(ids, tokenize(tok_, text, 0)) << path << " " << text;
      EXPECT_EQ(detokenize(own, ids, 0), detokenize(tok_, ids, 0)) << path << " " << text;
    }
    gptq_tokenizer_destroy(own);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, TokenizeApi, ::testing::Values("docs-llama-16m", "docs-opt-15m"));

namespace {

std::string open_error(const std::string &path, gptq_status want) {
  gptq_tokenizer *tok = reinterpret_cast<gptq_tokenizer *>(0x1);
  EXPECT_EQ(gptq_tokenizer_open(path.c_str(), &tok), want) << path;
  EXPECT_EQ(tok, reinterpret_cast<gptq_tokenizer *>(0x1)) << "out must be untouched on failure";
  return gptq_last_error();
}

}  // namespace

// A tokenizer with no model at all: a real tokenizer-only directory.
TEST(TokenizerApi, OpensATokenizerWithoutAModel) {
  GPTQ_REQUIRE_SHARED(dir, "tokenizers/gpt2");
  gptq_tokenizer *tok = nullptr;
  ASSERT_EQ(gptq_tokenizer_open(dir.c_str(), &tok), GPTQ_OK) << gptq_last_error();
  EXPECT_EQ(tokenize(tok, "Hello, world!", 0), (std::vector<int32_t>{15496, 11, 995, 0}));
  EXPECT_EQ(detokenize(tok, {15496, 11, 995, 0}, 0), "Hello, world!");
  // Immutable: several threads may tokenize with it at once.
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] { got[t] = tokenize(tok, std::string(2000, 'a') + " b c", 0); });
  for (auto &th : threads) th.join();
  for (const auto &g : got) EXPECT_EQ(g, got[0]);
  gptq_tokenizer_destroy(tok);
  gptq_tokenizer_destroy(nullptr);
}

TEST(TokenizerApi, OpenErrorsSayWhy) {
  gptq_tokenizer *tok = nullptr;
  EXPECT_EQ(gptq_tokenizer_open(nullptr, &tok), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_tokenizer_open("x", nullptr), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(open_error("", GPTQ_ERR_INVALID_ARGUMENT).find("empty"), std::string::npos);
  std::string e = open_error("/nonexistent/tokenizer.json", GPTQ_ERR_IO);
  EXPECT_NE(e.find("/nonexistent/tokenizer.json: cannot open: No such file or directory"), std::string::npos) << e;
  const auto tmp = std::filesystem::temp_directory_path() / ("gptq_tok_api_" + std::to_string(::getpid()));
  std::filesystem::remove_all(tmp);
  std::filesystem::create_directories(tmp / "empty");
  e = open_error((tmp / "empty").string(), GPTQ_ERR_IO);
  EXPECT_NE(e.find("tokenizer.json: cannot open: No such file or directory"), std::string::npos) << e;
  // A path that exists but is not a regular file says so: a directory named
  // tokenizer.json, a FIFO given as the file.
  std::filesystem::create_directories(tmp / "dirfile" / "tokenizer.json");
  e = open_error((tmp / "dirfile").string(), GPTQ_ERR_IO);
  EXPECT_NE(e.find("tokenizer.json: not a regular file"), std::string::npos) << e;
  ASSERT_EQ(::mkfifo((tmp / "fifo.json").c_str(), 0600), 0);
  e = open_error((tmp / "fifo.json").string(), GPTQ_ERR_IO);
  EXPECT_NE(e.find("fifo.json: not a regular file"), std::string::npos) << e;
  std::ofstream(tmp / "bad.json") << R"({"model": {"type": "WordPiece", "vocab": {}}})";
  e = open_error((tmp / "bad.json").string(), GPTQ_ERR_UNSUPPORTED);
  EXPECT_NE(e.find("bad.json"), std::string::npos) << e;
  std::ofstream(tmp / "trunc.json") << R"({"model": {"type": "BPE", "vocab": {"a": 0)";
  e = open_error((tmp / "trunc.json").string(), GPTQ_ERR_FORMAT);
  EXPECT_NE(e.find("trunc.json"), std::string::npos) << e;
  std::filesystem::remove_all(tmp);
}

// The model lends its tokenizer: destroying the loan does nothing, and a model
// without tokenizer.json says so.
TEST(TokenizerApi, ModelTokenizerIsBorrowed) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-opt-15m");
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &ctx), GPTQ_OK);
  gptq_model *model = nullptr;
  ASSERT_EQ(gptq_model_open(ctx, dir.c_str(), &model), GPTQ_OK) << gptq_last_error();
  const gptq_tokenizer *tok = nullptr;
  ASSERT_EQ(gptq_model_tokenizer(model, &tok), GPTQ_OK);
  const auto before = tokenize(tok, "hello world", 0);
  gptq_tokenizer_destroy(const_cast<gptq_tokenizer *>(tok));  // a no-op for a loan
  EXPECT_EQ(tokenize(tok, "hello world", 0), before);
  EXPECT_EQ(gptq_model_tokenizer(nullptr, &tok), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_model_tokenizer(model, nullptr), GPTQ_ERR_INVALID_ARGUMENT);
  gptq_model_destroy(model);

  // The same model without its tokenizer.json (the other files linked).
  const auto tmp = std::filesystem::temp_directory_path() / ("gptq_tok_model_" + std::to_string(::getpid()));
  std::filesystem::remove_all(tmp);
  std::filesystem::create_directories(tmp);
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    if (entry.path().filename() != "tokenizer.json")
      std::filesystem::create_symlink(std::filesystem::absolute(entry.path()), tmp / entry.path().filename());
  ASSERT_EQ(gptq_model_open(ctx, tmp.c_str(), &model), GPTQ_OK) << gptq_last_error();
  const gptq_tokenizer *none = nullptr;
  EXPECT_EQ(gptq_model_tokenizer(model, &none), GPTQ_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(gptq_last_error()).find("has no tokenizer.json"), std::string::npos) << gptq_last_error();
  EXPECT_EQ(none, nullptr);
  gptq_model_destroy(model);
  gptq_context_destroy(ctx);
  std::filesystem::remove_all(tmp);
}
