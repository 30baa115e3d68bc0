#include "core/tokenizer/added_vocabulary.h"

#include <gtest/gtest.h>

#include "tests/core/tokenizer/test_util.h"

namespace gptq::tokenizer {
namespace {

using test::added;
using test::bpe_doc;
using test::load;
using V = std::vector<int32_t>;

// One token per character (ids 0..9), added tokens from 100.
nlohmann::json doc_with(std::initializer_list<nlohmann::json> tokens) {
  auto doc = bpe_doc({"a", "b", " ", "<", ">", "m", "x", "y", "\xE2\x96\x81", "n"}, {});
  for (const auto &t : tokens) doc["added_tokens"].push_back(t);
  return doc;
}

TEST(AddedVocabulary, PlainMatchAnywhere) {
  auto t = load(doc_with({added(100, "<m>")}));
  EXPECT_EQ(t.encode("a<m>b", false), (V{0, 100, 1}));
  EXPECT_EQ(t.encode("<m<m>>", false), (V{3, 5, 100, 4}));
}

TEST(AddedVocabulary, LeftmostLongest) {
  auto t = load(doc_with({added(100, "<m>"), added(101, "<m><m>"), added(102, "m>")}));
  EXPECT_EQ(t.encode("<m><m><m>", false), (V{101, 100}));
  EXPECT_EQ(t.encode("am>", false), (V{0, 102}));
}

TEST(AddedVocabulary, StripFlags) {
  auto l = added(100, "<m>");
  l["lstrip"] = true;
  EXPECT_EQ(load(doc_with({l})).encode("a  <m> b", false), (V{0, 100, 2, 1}));
  auto r = added(100, "<m>");
  r["rstrip"] = true;
  EXPECT_EQ(load(doc_with({r})).encode("a  <m>  b", false), (V{0, 2, 2, 100, 1}));
}

TEST(AddedVocabulary, SingleWord) {
  auto s = added(100, "mm", false);
  s["single_word"] = true;
  s["normalized"] = false;
  auto t = load(doc_with({s}));
  EXPECT_EQ(t.encode("amm b", false), (V{0, 5, 5, 2, 1}));  // touches "a": not a match
  EXPECT_EQ(t.encode("a mm b", false), (V{0, 2, 100, 2, 1}));
  EXPECT_EQ(t.encode("mm", false), (V{100}));
}

TEST(AddedVocabulary, NormalizedTokensMatchNormalizedText) {
  auto doc = doc_with({added(100, "x y", false)});
  doc["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}};
  auto t = load(doc);
  EXPECT_EQ(t.encode("ax yb", false), (V{0, 100, 1}));
  EXPECT_EQ(t.id_to_token(100), "x\xE2\x96\x81y");  // HF returns the normalized form
}

TEST(AddedVocabulary, SpecialTokensSkippedInDecode) {
  auto t = load(doc_with({added(100, "<m>", true), added(101, "n", false)}));
  auto ids = t.encode("a<m>n", false);
  EXPECT_EQ(ids, (V{0, 100, 101}));
  EXPECT_TRUE(t.is_special(100));
  EXPECT_FALSE(t.is_special(101));
  EXPECT_EQ(t.decode(ids, false), "a <m> n");  // no decoder: HF joins with spaces
  EXPECT_EQ(t.decode(ids, true), "a n");
}

}  // namespace
}  // namespace gptq::tokenizer
