// Unicode character classes for the hand-written pre-tokenizer matchers and for
// added-token matching.
//
// HF tokenizers splits text with regexes such as GPT-2's
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// run by Oniguruma, and tests single_word added tokens with the regex crate's \w. We
// match those by hand (no regex engine), so we need \p{L}, \p{N}, \s and \w exactly as
// those engines define them, in their Unicode version: 16.0.0 for both in HF tokenizers
// 0.23 (scripts/gen_unicode_tables.py says where that comes from). The tables are
// generated from Unicode 16.0.0 data; kUnicodeVersion records it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gptq::tokenizer {

enum class CharClass : uint8_t {
  Other = 0,
  Letter = 1,  // \p{L}: Lu Ll Lt Lm Lo
  Number = 2,  // \p{N}: Nd Nl No
};

namespace detail {
struct ClassRange {
  uint32_t first;
  uint32_t last;
  uint8_t cls;
};
extern const ClassRange kClassRanges[];
extern const std::size_t kClassRangeCount;
// The regex crate's \w: Alphabetic, M, Nd, Pc, Join_Control (cls is 1).
extern const ClassRange kWordRanges[];
extern const std::size_t kWordRangeCount;
// White_Space (cls is 1); is_whitespace() below is tested against it.
extern const ClassRange kWhiteSpaceRanges[];
extern const std::size_t kWhiteSpaceRangeCount;
extern const char *const kUnicodeVersion;

// The class of the range holding cp, or 0 (binary search).
uint8_t range_class(const ClassRange *ranges, std::size_t count, uint32_t cp);
}  // namespace detail

// The general-category class of a code point (ASCII by table, else binary search).
CharClass char_class(uint32_t cp);

inline bool is_letter(uint32_t cp) { return char_class(cp) == CharClass::Letter; }
inline bool is_number(uint32_t cp) { return char_class(cp) == CharClass::Number; }

// The Unicode White_Space property, which is what \s means in both Oniguruma and the
// Rust regex crate (and Rust's char::is_whitespace). A short list, stable since
// Unicode 6.3; a test checks it against the generated table.
inline bool is_whitespace(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// The regex crate's \w, which HF uses for single_word added tokens.
bool is_word_char(uint32_t cp);

const char *unicode_version();

}  // namespace gptq::tokenizer
