#include "core/tokenizer/utf8.h"

#include <gtest/gtest.h>

namespace gptq::tokenizer::utf8 {
namespace {

std::string repaired(std::string_view s) {
  std::string out;
  append_repaired(s, out);
  return out;
}

const std::string R = "\xEF\xBF\xBD";

// Expected values are Python's bytes.decode("utf-8", errors="replace").
TEST(Utf8, RepairsMaximalSubparts) {
  EXPECT_EQ(repaired("abc"), "abc");
  EXPECT_EQ(repaired("abc\x80" "def"), "abc" + R + "def");
  EXPECT_EQ(repaired("caf\xC3"), "caf" + R);
  EXPECT_EQ(repaired("x\xE4\xB8y"), "x" + R + "y");                  // one subpart of 2 bytes
  EXPECT_EQ(repaired("\xC0\xAF\xE0\x80\xAFz"), R + R + R + R + R + "z");  // overlongs: byte by byte
  EXPECT_EQ(repaired("\xED\xA0\x80!"), R + R + R + "!");              // surrogate
  EXPECT_EQ(repaired("\xF4\x90\x80\x80\xF5\xFF"), R + R + R + R + R + R);
  EXPECT_EQ(repaired("\xF0\x9F\x98 \xF0\x9F\x98\x80"), R + " \xF0\x9F\x98\x80");
  EXPECT_EQ(repaired("\xE2\x82"), R);
}

TEST(Utf8, Validity) {
  EXPECT_TRUE(is_valid(""));
  EXPECT_TRUE(is_valid("plain ascii text longer than eight bytes"));
  EXPECT_TRUE(is_valid("\xE4\xB8\xAD\xF0\x9F\xA6\x80"));
  EXPECT_FALSE(is_valid("0123456789\xFF"));
  EXPECT_FALSE(is_valid("\xC3"));
  EXPECT_FALSE(is_valid("\xED\xBF\xBF"));
}

TEST(Utf8, EncodesCodePoints) {
  std::string s;
  for (uint32_t cp : {0x41u, 0xE9u, 0x4E2Du, 0x1F980u}) append_code_point(cp, s);
  EXPECT_EQ(s, "A\xC3\xA9\xE4\xB8\xAD\xF0\x9F\xA6\x80");
  std::size_t len;
  EXPECT_EQ(decode_at(s, 1, &len), 0xE9u);
  EXPECT_EQ(len, 2u);
}

}  // namespace
}  // namespace gptq::tokenizer::utf8
