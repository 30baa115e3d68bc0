// Small Qwen2-style and Llama-3-style tokenizer.json files (NFC normalizer, Split with
// the Qwen2 / Llama-3 regexes + ByteLevel, TemplateProcessing with <|begin_of_text|>,
// ignore_merges) against the ids of an independent Python implementation; both made by
// scripts/make_synthetic_tokenizers.py.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/model/tokenizer_files.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/unicode_nfc.h"
#include "tests/core/tokenizer/test_util.h"
#include "tests/support/shared_data.h"

namespace gptq::tokenizer {
namespace {

using V = std::vector<int32_t>;

std::filesystem::path data_dir() { return testing::source_dir() / "tests/data/tokenizer"; }

const nlohmann::json &expected() {
  static const nlohmann::json doc =
      nlohmann::json::parse(test::read_file((data_dir() / "synthetic_expected.json").string()));
  return doc;
}

std::string stream_decode(const Tokenizer &t, const V &ids, bool skip) {
  StreamDecoder d(t, skip);
  std::string out;
  for (int32_t id : ids) out += d.push(id);
  return out + d.finish();
}

void check_against_reference(const std::string &name) {
  const auto t = gptq::model::open_tokenizer(data_dir() / (name + "-synthetic"));
  const auto &doc = expected();
  const auto &texts = doc.at("texts");
  ASSERT_EQ(texts.size(), doc.at(name).size());
  ASSERT_GT(texts.size(), 10u);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::string text = texts[i];
    const V want = doc.at(name)[i].get<V>();
    const V got = t.encode(text, true);
    EXPECT_EQ(got, want) << name << ": " << text;
    EXPECT_EQ(t.decode(got, false), doc.at(name + "_decoded")[i].get<std::string>()) << name << ": " << text;
    EXPECT_EQ(stream_decode(t, got, false), t.decode(got, false)) << name << ": " << text;
    EXPECT_EQ(stream_decode(t, got, true), t.decode(got, true)) << name << ": " << text;
  }
}

TEST(SyntheticTokenizers, Qwen2MatchesReference) { check_against_reference("qwen2"); }
TEST(SyntheticTokenizers, Llama3MatchesReference) { check_against_reference("llama3"); }

TEST(SyntheticTokenizers, Qwen2NormalizesToNfc) {
  const auto t = gptq::model::open_tokenizer(data_dir() / "qwen2-synthetic");
  EXPECT_FALSE(t.bos_id().has_value());
  EXPECT_EQ(t.eos_id(), t.token_to_id("<|im_end|>"));
  EXPECT_TRUE(t.is_special(*t.token_to_id("<|endoftext|>")));
  // Canonically equivalent spellings give the same ids: precomposed, decomposed,
  // marks in the other order, Hangul jamo vs syllables, singletons.
  EXPECT_EQ(t.encode("caf\xC3\xA9"), t.encode("cafe\xCC\x81"));
  EXPECT_EQ(t.encode("\xE1\xBA\xA5"), t.encode("a\xCC\x82\xCC\x81"));  // ấ = a + 0302 + 0301
  EXPECT_NE(t.encode("\xE1\xBA\xA5"), t.encode("a\xCC\x81\xCC\x82"));  // same class: order kept
  EXPECT_EQ(t.encode("\xE1\xBB\x87"), t.encode("e\xCC\x82\xCC\xA3"));  // ệ = e + 0323 + 0302
  EXPECT_EQ(t.encode("\xED\x95\x9C"), t.encode("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB"));
  EXPECT_EQ(t.encode("\xC3\x85"), t.encode("\xE2\x84\xAB"));  // Å vs ANGSTROM SIGN
  // No BOS and the ByteLevel post-processor adds nothing.
  EXPECT_EQ(t.encode("x", true), t.encode("x", false));
  // decode(encode(x)) is NFC(x), for text with and without special tokens.
  for (const char *s : {"Cre\xCC\x80me bru\xCC\x82le\xCC\x81" "e", "<|im_start|>a\xCC\x8A<|im_end|>",
                        "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8 \xEF\xA4\x80 plain"}) {
    EXPECT_EQ(t.decode(t.encode(s, false)), normalized(NormalForm::NFC, s)) << s;
  }
  // Ill-formed UTF-8 is repaired first, then normalized.
  EXPECT_EQ(t.decode(t.encode("e\x80\xCC\x81", false)), "e\xEF\xBF\xBD\xCC\x81");
}

TEST(SyntheticTokenizers, Llama3TemplateAndIgnoreMerges) {
  const auto t = gptq::model::open_tokenizer(data_dir() / "llama3-synthetic");
  const auto bos = t.token_to_id("<|begin_of_text|>");
  ASSERT_TRUE(bos.has_value());
  EXPECT_EQ(t.bos_id(), bos);
  EXPECT_EQ(t.eos_id(), t.token_to_id("<|end_of_text|>"));
  const V with = t.encode("Hello world", true), without = t.encode("Hello world", false);
  ASSERT_EQ(with.size(), without.size() + 1);
  EXPECT_EQ(with[0], *bos);
  EXPECT_EQ(V(with.begin() + 1, with.end()), without);
  // " zyzzyva" is one vocabulary entry no merge reaches: ignore_merges takes it whole.
  EXPECT_EQ(t.encode(" zyzzyva", false), V{*t.token_to_id("\xC4\xA0zyzzyva")});
  EXPECT_GT(t.encode(" zyzzyvas", false).size(), 1u);
  // No normalizer: decomposed text stays decomposed.
  const std::string dec = "cafe\xCC\x81";
  EXPECT_NE(t.encode(dec, false), t.encode("caf\xC3\xA9", false));
  // Without the config (no clean_up_tokenization_spaces) decode inverts encode exactly.
  const auto raw = Tokenizer::from_json(test::read_file((data_dir() / "llama3-synthetic/tokenizer.json").string()));
  for (const std::string &s : expected().at("texts").get<std::vector<std::string>>())
    EXPECT_EQ(raw.decode(raw.encode(s, false)), s) << s;
}

}  // namespace
}  // namespace gptq::tokenizer
