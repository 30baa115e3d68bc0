#include "core/tokenizer/pre_tokenizer.h"

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/tokenizer/json_node.h"

namespace gptq::tokenizer {
namespace {

std::vector<std::string> words(const std::string &json, std::string_view text, bool at_start = true) {
  const auto doc = nlohmann::json::parse(json);
  auto pt = make_pre_tokenizer(JsonNode(doc, "t.json", "$.pre_tokenizer"));
  Words w;
  pt->split(text, at_start, w);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < w.spans.size(); ++i) out.emplace_back(w.word(i));
  return out;
}

using V = std::vector<std::string>;
const std::string M = "\xE2\x96\x81";  // ▁

TEST(PreTokenizer, MetaspacePrependSchemes) {
  const std::string base = R"({"type":"Metaspace","replacement":"▁","split":true,"prepend_scheme":)";
  EXPECT_EQ(words(base + R"("always"})", "a b"), (V{M + "a", M + "b"}));
  EXPECT_EQ(words(base + R"("first"})", "a b", true), (V{M + "a", M + "b"}));
  EXPECT_EQ(words(base + R"("first"})", "a b", false), (V{"a", M + "b"}));
  EXPECT_EQ(words(base + R"("never"})", "a  b"), (V{"a", M, M + "b"}));
  EXPECT_EQ(words(R"({"type":"Metaspace","replacement":"▁","split":false,"prepend_scheme":"always"})", "a b"),
            (V{M + "a" + M + "b"}));
}

TEST(PreTokenizer, ByteLevelPrefixSpace) {
  EXPECT_EQ(words(R"({"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true})", "hi there"),
            (V{" hi", " there"}));
  EXPECT_EQ(words(R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":false})", "hi there"),
            (V{"hi there"}));
}

TEST(PreTokenizer, SplitBehaviors) {
  auto split = [](const std::string &behavior, bool invert) {
    return words(R"({"type":"Split","pattern":{"String":"-"},"behavior":")" + behavior +
                     R"(","invert":)" + (invert ? "true" : "false") + "}",
                 "a-b--c");
  };
  EXPECT_EQ(split("Removed", false), (V{"a", "b", "c"}));
  EXPECT_EQ(split("Isolated", false), (V{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(split("MergedWithPrevious", false), (V{"a-", "b-", "-", "c"}));
  EXPECT_EQ(split("MergedWithNext", false), (V{"a", "-b", "-", "-c"}));
  EXPECT_EQ(split("Contiguous", false), (V{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(split("Removed", true), (V{"-", "-", "-"}));  // occurrences are separate matches
}

TEST(PreTokenizer, Llama3Sequence) {
  const std::string j = R"({"type":"Sequence","pretokenizers":[
    {"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},
    {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]})";
  EXPECT_EQ(words(j, "Hi 12345!"), (V{"Hi", " ", "123", "45", "!"}));
}

TEST(PreTokenizer, UnknownRegexIsUnsupported) {
  try {
    words(R"({"type":"Split","pattern":{"Regex":"\\w+"},"behavior":"Isolated","invert":false})", "x");
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::Unsupported);
    EXPECT_NE(std::string(e.what()).find("$.pre_tokenizer.pattern.Regex"), std::string::npos) << e.what();
  }
}

TEST(PreTokenizer, ByteToUnicodeTable) {
  EXPECT_EQ(byte_to_unicode('A'), uint32_t('A'));
  EXPECT_EQ(byte_to_unicode(' '), 0x120u);   // Ġ
  EXPECT_EQ(byte_to_unicode('\n'), 0x10Au);  // Ċ
  EXPECT_EQ(byte_to_unicode(0xAD), 0x143u);
}

}  // namespace
}  // namespace gptq::tokenizer
