#include "core/tokenizer/unicode_nfc.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

#include "core/tokenizer/unicode.h"
#include "core/text/utf8.h"
#include "tests/core/tokenizer/test_util.h"
#include "tests/support/shared_data.h"

namespace gptq::tokenizer {
namespace {

std::string nfc(std::string_view s) { return normalized(NormalForm::NFC, s); }
std::string nfd(std::string_view s) { return normalized(NormalForm::NFD, s); }

std::string hex(std::string_view s) {
  std::string out;
  for (std::size_t i = 0, len = 0; i < s.size(); i += len) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%s%04X", out.empty() ? "" : " ", unsigned(utf8::decode_at(s, i, &len)));
    out += buf;
  }
  return out;
}

// HF tokenizers normalizes with Unicode 9.0.0 tables (unicode-normalization-alignments
// 0.1.12), while its regexes know 16.0.0: the two versions differ on purpose.
TEST(UnicodeNfc, VersionOfHfNormalizer) {
  EXPECT_STREQ(nfc_unicode_version(), "9.0.0");
  EXPECT_STREQ(unicode_version(), "16.0.0");
}

// U+1DF6 (Unicode 10.0, class 232) is a starter in 9.0: not reordered before U+0301, so
// a + U+0301 does not compose across it; Python's 14.0 would give U+00E1 U+1DF6.
TEST(UnicodeNfc, MarksAssignedAfterNineAreStarters) {
  EXPECT_EQ(hex(nfc("a\xE1\xB7\xB6\xCC\x81")), "0061 1DF6 0301");
  EXPECT_EQ(hex(nfd("a\xCC\x81\xE1\xB7\xB6")), "0061 0301 1DF6");
  EXPECT_EQ(combining_class(0x1DF6), 0);
}

TEST(UnicodeNfc, Basics) {
  EXPECT_EQ(nfc(""), "");
  EXPECT_EQ(nfc("plain ascii"), "plain ascii");
  EXPECT_EQ(nfc("e\xCC\x81"), "\xC3\xA9");                           // e + U+0301 -> é
  EXPECT_EQ(nfd("\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(hex(nfc("a\xCC\x82\xCC\xA3")), "1EAD");                   // a + 0302 + 0323 -> ậ
  EXPECT_EQ(hex(nfd("a\xCC\x82\xCC\xA3")), "0061 0323 0302");         // reordered by class
  EXPECT_EQ(hex(nfc("\xE2\x84\xAB")), "00C5");                        // Å ANGSTROM SIGN: singleton
  EXPECT_EQ(hex(nfc("\xE0\xA5\x98")), "0915 093C");                   // U+0958: excluded
  EXPECT_EQ(hex(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8")), "AC01");  // L V T -> 각
  EXPECT_EQ(hex(nfd("\xEA\xB0\x81")), "1100 1161 11A8");
  EXPECT_EQ(hex(nfc("a\xCC\x81\xCC\x81")), "00E1 0301");              // second acute is blocked
}

TEST(UnicodeNfc, ReturnsFalseWhenAlreadyNormalized) {
  std::string out = "keep";
  EXPECT_FALSE(normalize_to(NormalForm::NFC, "caf\xC3\xA9 \xE4\xB8\xAD\xED\x95\x9C", out));
  EXPECT_EQ(out, "keep");
  EXPECT_TRUE(normalize_to(NormalForm::NFD, "caf\xC3\xA9", out));
  EXPECT_EQ(out, "keepcafe\xCC\x81");
  std::string text = "x\xE2\x84\xABy", scratch;
  normalize_in_place(NormalForm::NFC, text, scratch);
  EXPECT_EQ(text, "x\xC3\x85y");
}

// Vectors from HF tokenizers' own NFC / NFD (scripts/make_nfc_vectors.py).
TEST(UnicodeNfc, MatchesHfNormalizers) {
  const auto path = testing::source_dir() / "tests/data/tokenizer/nfc_vectors.json";
  const auto doc = nlohmann::json::parse(test::read_file(path.string()));
  ASSERT_GT(doc.size(), 1000u);
  int failures = 0;
  for (const auto &row : doc) {
    const std::string text = row[0];
    const std::string want_nfc = row[1].is_null() ? text : row[1].get<std::string>();
    const std::string want_nfd = row[2].is_null() ? text : row[2].get<std::string>();
    const std::string got_nfc = nfc(text), got_nfd = nfd(text);
    EXPECT_EQ(hex(got_nfc), hex(want_nfc)) << "NFC of " << hex(text);
    EXPECT_EQ(hex(got_nfd), hex(want_nfd)) << "NFD of " << hex(text);
    // Idempotent, and each form is the other's fixed point after conversion.
    EXPECT_EQ(nfc(got_nfc), got_nfc);
    EXPECT_EQ(nfd(got_nfd), got_nfd);
    EXPECT_EQ(nfc(got_nfd), got_nfc);
    EXPECT_EQ(detail::normalize_full(NormalForm::NFC, text), want_nfc);
    EXPECT_EQ(detail::normalize_full(NormalForm::NFD, text), want_nfd);
    failures += got_nfc != want_nfc || got_nfd != want_nfd;
    if (failures > 20) FAIL() << "too many failures";
  }
}

// The quick-check path must agree with the full algorithm on text that mixes
// normalized runs with characters that change.
TEST(UnicodeNfc, ChunksAroundBoundaries) {
  const std::string pieces[] = {"abc ", "\xC3\xA9", "e\xCC\x81", "\xCC\x81", "\xE1\x85\xA1", "\xE1\x84\x80",
                                "\xEA\xB0\x80", "\xE1\x86\xA8", "\xE4\xB8\xAD", "\xCC\xA3", "\xE2\x84\xAB",
                                "\xE0\xAF\x86", "\xE0\xAE\xBE", "\xF0\x9F\xA6\x80", "\n"};
  std::mt19937 rng(7);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string s;
    const int n = int(rng() % 12);
    for (int k = 0; k < n; ++k) s += pieces[rng() % std::size(pieces)];
    const std::string a = nfc(s);
    EXPECT_TRUE(utf8::is_valid(a));
    EXPECT_EQ(nfc(a), a) << hex(s);
    EXPECT_EQ(nfc(nfd(s)), a) << hex(s);
    EXPECT_EQ(a, detail::normalize_full(NormalForm::NFC, s)) << hex(s);
    EXPECT_EQ(nfd(s), detail::normalize_full(NormalForm::NFD, s)) << hex(s);
    // NFC text may still hold NFC_QC=Maybe characters (a lone U+0301, a V jamo after a
    // syllable), which send it down the slow path: that must give the text back.
    std::string out;
    if (normalize_to(NormalForm::NFC, a, out)) {
      EXPECT_EQ(out, a) << hex(a);
    }
  }
}

TEST(UnicodeNfc, LongRunsOfMarks) {
  // 5000 combining marks in descending class order: sorted without quadratic cost.
  std::string s = "a";
  for (int i = 0; i < 2500; ++i) s += "\xCC\x81\xCC\xA3";  // 0301 (230), 0323 (220)
  const std::string out = nfc(s);
  EXPECT_EQ(out.substr(0, 3), "\xE1\xBA\xA1");               // ạ (a + 0323)
  EXPECT_EQ(out.substr(3, 2 * 2499), [] {
    std::string t;
    for (int i = 0; i < 2499; ++i) t += "\xCC\xA3";
    return t;
  }());
  EXPECT_EQ(nfc(out), out);
}

TEST(UnicodeNfc, CombiningClass) {
  EXPECT_EQ(combining_class('a'), 0);
  EXPECT_EQ(combining_class(0x0301), 230);
  EXPECT_EQ(combining_class(0x0323), 220);
  EXPECT_EQ(combining_class(0x05B0), 10);
  EXPECT_EQ(combining_class(0x10FFFF), 0);
}

}  // namespace
}  // namespace gptq::tokenizer
