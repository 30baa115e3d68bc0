#include "core/tokenizer/bpe_model.h"

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "tests/core/tokenizer/test_util.h"

namespace gptq::tokenizer {
namespace {

using test::bpe_doc;
using test::load;
using V = std::vector<int32_t>;

TEST(BpeModel, MergesByRankLeftmostFirst) {
  // vocab: a=0 b=1 ab=2 ba=3 aba=4
  auto doc = bpe_doc({"a", "b", "ab", "ba", "aba"}, {"b a", "a b", "ab a"});
  auto t = load(doc);
  EXPECT_EQ(t.encode("ab", false), (V{2}));
  EXPECT_EQ(t.encode("aba", false), (V{0, 3}));  // "b a" ranks first
  EXPECT_EQ(t.encode("abab", false), (V{0, 3, 1}));
  // The pair form of merges gives the same model.
  doc["model"]["merges"] = nlohmann::json::array({{"b", "a"}, {"a", "b"}, {"ab", "a"}});
  EXPECT_EQ(load(doc).encode("abab", false), (V{0, 3, 1}));
}

// With no pre-tokenizer the text is one word, encoded in pieces cut before "▁" only
// when no token spans such a cut.
TEST(BpeModel, ChunksBeforeMetaspaceOnlyWhereNoTokenSpansTheCut) {
  // "b▁" spans the cut in "b▁a": the whole word merges it first (rank 0).
  auto spanning = bpe_doc({"\xE2\x96\x81", "a", "b", "b\xE2\x96\x81", "\xE2\x96\x81" "a"},
                          {"b \xE2\x96\x81", "\xE2\x96\x81 a"});
  EXPECT_EQ(load(spanning).encode("b\xE2\x96\x81" "a", false), (V{3, 1}));
  // "▁" only after "▁" inside tokens: cut before the first "▁" of a run, not inside it.
  auto runs = bpe_doc({"\xE2\x96\x81", "a", "\xE2\x96\x81\xE2\x96\x81", "\xE2\x96\x81" "a",
                       "\xE2\x96\x81\xE2\x96\x81" "a"},
                      {"\xE2\x96\x81 \xE2\x96\x81", "\xE2\x96\x81 a", "\xE2\x96\x81\xE2\x96\x81 a"});
  EXPECT_EQ(load(runs).encode("a\xE2\x96\x81\xE2\x96\x81" "a\xE2\x96\x81" "a", false), (V{1, 4, 3}));
}

TEST(BpeModel, IgnoreMerges) {
  auto doc = bpe_doc({"a", "b", "c", "bc", "abc"}, {"b c"});
  EXPECT_EQ(load(doc).encode("abc", false), (V{0, 3}));
  doc["model"]["ignore_merges"] = true;
  EXPECT_EQ(load(doc).encode("abc", false), (V{4}));
}

TEST(BpeModel, UnknownCharactersFuseOrNot) {
  auto doc = bpe_doc({"<unk>", "a"}, {});
  doc["model"]["unk_token"] = "<unk>";
  EXPECT_EQ(load(doc).encode("xya", false), (V{0, 0, 1}));
  doc["model"]["fuse_unk"] = true;
  EXPECT_EQ(load(doc).encode("xya", false), (V{0, 1}));
  doc["model"]["unk_token"] = nullptr;  // no unk: dropped, as HF does
  EXPECT_EQ(load(doc).encode("xya", false), (V{1}));
}

TEST(BpeModel, ByteFallback) {
  std::vector<std::string> vocab = {"<unk>", "a"};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    vocab.push_back(buf);
  }
  auto doc = bpe_doc(vocab, {});
  doc["model"]["unk_token"] = "<unk>";
  doc["model"]["byte_fallback"] = true;
  // é = C3 A9 -> <0xC3> <0xA9> (ids 2 + byte)
  EXPECT_EQ(load(doc).encode("a\xC3\xA9", false), (V{1, 2 + 0xC3, 2 + 0xA9}));
}

TEST(BpeModel, MergeErrorsNameFileAndField) {
  auto expect_format = [](const nlohmann::json &doc, const std::string &needle) {
    try {
      load(doc);
      FAIL() << "no error for " << needle;
    } catch (const Error &e) {
      EXPECT_EQ(e.status(), Status::Format);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
    }
  };
  expect_format(bpe_doc({"a", "b"}, {"a c"}), "$.model.merges[0]: merge refers to token \"c\"");
  expect_format(bpe_doc({"a", "b"}, {"a b"}), "merged token \"ab\" is not in the vocabulary");
  expect_format(bpe_doc({"a", "b", "ab"}, {"ab"}), "$.model.merges[0]");
  auto doc = bpe_doc({"a"}, {});
  doc["model"]["vocab"]["a"] = "zero";
  expect_format(doc, "$.model.vocab[\"a\"]: expected an integer, got string");
  doc = bpe_doc({"a"}, {});
  doc["model"]["merges"] = 5;
  expect_format(doc, "$.model.merges: expected an array, got integer");
  doc = bpe_doc({"a"}, {});
  doc["model"].erase("vocab");
  expect_format(doc, "$.model: missing field \"vocab\"");
}

TEST(BpeModel, DropoutIsUnsupported) {
  auto doc = bpe_doc({"a"}, {});
  doc["model"]["dropout"] = 0.1;
  EXPECT_THROW(load(doc), Error);
}

}  // namespace
}  // namespace gptq::tokenizer
