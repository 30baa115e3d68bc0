#include "core/tokenizer/split_patterns.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/tokenizer/unicode.h"
#include "tests/core/tokenizer/test_util.h"
#include "tests/support/shared_data.h"

namespace gptq::tokenizer {
namespace {

std::vector<std::string> split(SplitPattern p, std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < s.size();) {
    std::size_t end = match_split_pattern(p, s, pos);
    EXPECT_GT(end, pos);
    out.emplace_back(s.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

TEST(SplitPatterns, Gpt2Basics) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split(SplitPattern::Gpt2, "Hello world, it's  ok\n\n x"),
            (V{"Hello", " world", ",", " it", "'s", " ", " ok", "\n\n", " x"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "12345 abc'LL\r\n\r\n  y"),
            (V{"123", "45", " abc", "'LL", "\r\n\r\n", " ", " y"}));
}

// Vectors from the Python `regex` module (scripts/make_split_vectors.py).
TEST(SplitPatterns, MatchRegexModule) {
  const auto path = testing::source_dir() / "tests/data/tokenizer/split_vectors.json";
  const auto doc = nlohmann::json::parse(test::read_file(path.string()));
  ASSERT_GT(doc.size(), 100u);
  for (const auto &entry : doc) {
    const std::string text = entry["text"];
    EXPECT_EQ(split(SplitPattern::Gpt2, text), entry["gpt2"].get<std::vector<std::string>>()) << text;
    EXPECT_EQ(split(SplitPattern::Llama3, text), entry["llama3"].get<std::vector<std::string>>()) << text;
    EXPECT_EQ(split(SplitPattern::Qwen2, text), entry["qwen2"].get<std::vector<std::string>>()) << text;
  }
}

TEST(SplitPatterns, RecognisesOnlyExactRegexText) {
  EXPECT_EQ(known_split_pattern(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"),
            SplitPattern::Gpt2);
  EXPECT_FALSE(known_split_pattern(R"(\s+)").has_value());
}

TEST(Unicode, Classes) {
  // The version of HF tokenizers' Oniguruma (onig_sys 69.9.3: Unicode 16.0).
  EXPECT_STREQ(unicode_version(), "16.0.0");
  EXPECT_EQ(char_class('a'), CharClass::Letter);
  EXPECT_EQ(char_class('7'), CharClass::Number);
  EXPECT_EQ(char_class(0x4E2D), CharClass::Letter);
  EXPECT_EQ(char_class(0x00BD), CharClass::Number);
  EXPECT_EQ(char_class(0x0301), CharClass::Other);  // a mark
  EXPECT_EQ(char_class('_'), CharClass::Other);
  EXPECT_EQ(char_class(0x1F980), CharClass::Other);
  // Assigned in Unicode 15 and 16: Kawi and Garay digits, Outlined digits, Garay letters.
  EXPECT_EQ(char_class(0x11F50), CharClass::Number);
  EXPECT_EQ(char_class(0x10D40), CharClass::Number);
  EXPECT_EQ(char_class(0x1CCF0), CharClass::Number);
  EXPECT_EQ(char_class(0x10D50), CharClass::Letter);
  EXPECT_TRUE(is_whitespace(0x3000));
  EXPECT_FALSE(is_whitespace(0x200B));
}

TEST(Unicode, WhitespaceIsTheGeneratedWhiteSpaceProperty) {
  for (uint32_t cp = 0; cp < 0x110000; ++cp) {
    const bool in_table = detail::range_class(detail::kWhiteSpaceRanges, detail::kWhiteSpaceRangeCount, cp) != 0;
    ASSERT_EQ(is_whitespace(cp), in_table) << std::hex << cp;
  }
}

TEST(Unicode, WordCharsAreTheRegexCratesBackslashW) {
  EXPECT_TRUE(is_word_char('a'));
  EXPECT_TRUE(is_word_char('_'));
  EXPECT_TRUE(is_word_char('5'));
  EXPECT_FALSE(is_word_char('-'));
  EXPECT_FALSE(is_word_char(' '));
  EXPECT_TRUE(is_word_char(0x0301));   // M
  EXPECT_TRUE(is_word_char(0x200D));   // Join_Control
  EXPECT_TRUE(is_word_char(0x24B6));   // CIRCLED LATIN CAPITAL A: Other_Alphabetic, So
  EXPECT_FALSE(is_word_char(0x00BD));  // No: not in \w
  EXPECT_TRUE(is_word_char(0x2160));   // ROMAN NUMERAL ONE: Nl, Alphabetic
  EXPECT_FALSE(is_word_char(0x1F980));
}

}  // namespace
}  // namespace gptq::tokenizer
