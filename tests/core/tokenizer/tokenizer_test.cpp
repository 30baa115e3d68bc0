#include "core/model/tokenizer_files.h"
#include "core/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "tests/core/tokenizer/test_util.h"
#include "tests/support/shared_data.h"

namespace gptq::tokenizer {
namespace {

using V = std::vector<int32_t>;

std::string stream_decode(const Tokenizer &t, const V &ids, bool skip) {
  StreamDecoder d(t, skip);
  std::string out;
  for (int32_t id : ids) out += d.push(id);
  return out + d.finish();
}

// Equality of long strings, reported as the first difference (not two megabytes).
::testing::AssertionResult same_text(const std::string &a, const std::string &b) {
  if (a == b) return ::testing::AssertionSuccess();
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  std::size_t from = i > 40 ? i - 40 : 0;
  return ::testing::AssertionFailure() << "differ at byte " << i << " (sizes " << a.size() << ", "
                                       << b.size() << "): \"" << a.substr(from, 80) << "\" vs \""
                                       << b.substr(from, 80) << "\"";
}

TEST(Tokenizer, OptBasics) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-opt-15m");
  auto t = gptq::model::open_tokenizer(dir);
  EXPECT_EQ(t.vocab_size(), 8192u);
  EXPECT_EQ(t.bos_id(), 2);
  EXPECT_EQ(t.eos_id(), 2);
  EXPECT_FALSE(t.has_chat_template());
  auto ids = t.encode("Hello world");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 2);  // OPT puts </s> first
  EXPECT_EQ(t.encode("Hello world", false), V(ids.begin() + 1, ids.end()));
  EXPECT_EQ(t.decode(ids, true), "Hello world");
  EXPECT_EQ(t.decode(ids, false), "</s>Hello world");
  EXPECT_EQ(t.token_to_id("</s>"), 2);
  EXPECT_EQ(t.id_to_token(2), "</s>");
  EXPECT_FALSE(t.id_to_token(100000).has_value());
}

TEST(Tokenizer, LlamaBasics) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-llama-16m");
  auto t = gptq::model::open_tokenizer(dir);
  EXPECT_EQ(t.vocab_size(), 8192u);
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_id(), 2);
  auto ids = t.encode("Hello world");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(t.decode(ids, true), "Hello world");
  EXPECT_EQ(t.decode(ids, false), "<s> Hello world");
  EXPECT_EQ(t.encode(""), (V{1}));
  EXPECT_EQ(t.encode("", false), V{});
}

// decode(encode(x)) == x where HF's also round-trips: byte-level BPE keeps every byte;
// the Llama-2 form too, without special tokens (the "▁" it prepends is stripped again;
// with skip_special_tokens the <0xNN> byte tokens, which that file marks special,
// would be dropped).
TEST(Tokenizer, RoundTripAndStreamingOnDataFiles) {
  for (const char *model : {"models/docs-opt-15m", "models/docs-llama-16m"}) {
    GPTQ_REQUIRE_SHARED(dir, model);
    auto t = gptq::model::open_tokenizer(dir);
    for (const char *file : {"data/wikitext2_test.txt", "data/docs_heldout.txt", "data/docs_calib.txt"}) {
      GPTQ_REQUIRE_SHARED(path, file);
      const std::string text = test::read_file(path.string());
      const auto ids = t.encode(text, false);
      EXPECT_GT(ids.size(), text.size() / 8) << model << " " << file;
      EXPECT_TRUE(same_text(t.decode(ids, false), text)) << model << " " << file;
      const V head(ids.begin(), ids.begin() + std::min<std::size_t>(ids.size(), 20000));
      EXPECT_TRUE(same_text(stream_decode(t, head, false), t.decode(head, false))) << model << " " << file;
      EXPECT_TRUE(same_text(stream_decode(t, head, true), t.decode(head, true))) << model << " " << file;
    }
  }
}

TEST(Tokenizer, InvalidUtf8IsRepairedLikePython) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-opt-15m");
  auto t = gptq::model::open_tokenizer(dir);
  EXPECT_EQ(t.encode("ab\x80\xE4\xB8z"), t.encode("ab\xEF\xBF\xBD\xEF\xBF\xBDz"));
  EXPECT_EQ(t.decode(t.encode("ab\x80z", false)), "ab\xEF\xBF\xBDz");
}

TEST(Tokenizer, StreamingNeverSplitsCharacters) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-opt-15m");
  auto t = gptq::model::open_tokenizer(dir);
  const std::string text = "caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\xA6\x80!";
  const auto ids = t.encode(text, false);
  StreamDecoder d(t);
  std::string all;
  for (int32_t id : ids) {
    std::string piece = d.push(id);
    std::string repaired;
    EXPECT_TRUE(piece.empty() || piece.find("\xEF\xBF\xBD") == std::string::npos) << piece;
    all += piece;
  }
  all += d.finish();
  EXPECT_EQ(all, text);
}

void expect_error(std::string_view json, Status status, const std::string &needle) {
  try {
    Tokenizer::from_json(json, {}, "/m/tokenizer.json");
    FAIL() << "no error, wanted: " << needle;
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), status) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/m/tokenizer.json"), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, CorruptFilesGiveSpecificErrors) {
  expect_error("{", Status::Format, "invalid JSON at byte ");
  expect_error("[]", Status::Format, "$: expected an object, got array");
  expect_error("{}", Status::Format, "$: missing field \"model\"");
  expect_error(R"({"model": 3})", Status::Format, "$.model: expected an object, got integer");
  expect_error(R"({"model": {"type": "WordPiece", "vocab": {}}})", Status::Unsupported,
               "model type \"WordPiece\" is not supported");
  expect_error(R"({"model": {"type": "Unigram", "vocab": []}})", Status::Unsupported, "\"Unigram\"");
  auto doc = test::bpe_doc({"a"}, {});
  doc["normalizer"] = {{"type", "NFKC"}};
  expect_error(doc.dump(), Status::Unsupported, "$.normalizer.type: normalizer type \"NFKC\"");
  doc["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "NFKD"}}}}};
  expect_error(doc.dump(), Status::Unsupported, "$.normalizer.normalizers[1].type: normalizer type \"NFKD\"");
  doc["normalizer"] = {{"type", "Lowercase"}};
  expect_error(doc.dump(), Status::Unsupported, "normalizer type \"Lowercase\"");
  doc = test::bpe_doc({"a"}, {});
  doc["added_tokens"] = {{{"id", "x"}, {"content", "<x>"}}};
  expect_error(doc.dump(), Status::Format, "$.added_tokens[0].id: expected an integer, got string");
  doc = test::bpe_doc({"a"}, {});
  doc["decoder"] = {{"type", "WordPiece"}};
  expect_error(doc.dump(), Status::Unsupported, "decoder type \"WordPiece\"");
  doc = test::bpe_doc({"a"}, {});
  doc["post_processor"] = {{"type", "TemplateProcessing"}, {"single", {{{"SpecialToken", {{"id", "<z>"}}}}}}};
  expect_error(doc.dump(), Status::Format, "special token \"<z>\" is not in special_tokens");
}

TEST(Tokenizer, MissingDirectoryIsIo) {
  try {
    gptq::model::open_tokenizer("/nonexistent/model");
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::Io);
  }
}

}  // namespace
}  // namespace gptq::tokenizer
