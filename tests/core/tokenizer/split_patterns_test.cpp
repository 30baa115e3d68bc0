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
  EXPECT_STREQ(unicode_version(), "14.0.0");
  EXPECT_EQ(char_class('a'), CharClass::Letter);
  EXPECT_EQ(char_class('7'), CharClass::Number);
  EXPECT_EQ(char_class(0x4E2D), CharClass::Letter);
  EXPECT_EQ(char_class(0x00BD), CharClass::Number);
  EXPECT_EQ(char_class(0x0301), CharClass::Mark);
  EXPECT_EQ(char_class('_'), CharClass::Connector);
  EXPECT_EQ(char_class(0x1F980), CharClass::Other);
  EXPECT_TRUE(is_whitespace(0x3000));
  EXPECT_FALSE(is_whitespace(0x200B));
}

}  // namespace
}  // namespace gptq::tokenizer
