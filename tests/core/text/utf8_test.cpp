#include "core/text/utf8.h"

#include <gtest/gtest.h>

namespace gptq::utf8 {
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

// Configs read from binary flatbuffers are checked with is_valid too (the
// Verifier checks bounds only, and JSON output must be valid UTF-8).
TEST(Utf8, AcceptsWellFormed) {
  EXPECT_TRUE(is_valid(std::string("nul\0inside", 10)));
  EXPECT_TRUE(is_valid("\xc3\xa9"));          // U+00E9
  EXPECT_TRUE(is_valid("\xe4\xb8\xad"));      // U+4E2D
  EXPECT_TRUE(is_valid("\xf0\x9f\x98\x80"));  // U+1F600
  EXPECT_TRUE(is_valid("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  EXPECT_TRUE(is_valid("\xed\x9f\xbf"));      // U+D7FF, just below surrogates
}

TEST(Utf8, RejectsMalformed) {
  EXPECT_FALSE(is_valid("\x80"));                  // lone continuation byte
  EXPECT_FALSE(is_valid("\xc3"));                  // truncated
  EXPECT_FALSE(is_valid("\xc3\x28"));              // bad continuation
  EXPECT_FALSE(is_valid("\xc0\xaf"));              // overlong '/'
  EXPECT_FALSE(is_valid("\xe0\x80\xaf"));          // overlong, 3 bytes
  EXPECT_FALSE(is_valid("\xed\xa0\x80"));          // U+D800 surrogate
  EXPECT_FALSE(is_valid("\xf4\x90\x80\x80"));      // above U+10FFFF
  EXPECT_FALSE(is_valid("\xf8\x88\x80\x80\x80"));  // 5-byte form
  EXPECT_FALSE(is_valid("\xff"));
}

}  // namespace
}  // namespace gptq::utf8
