// Unicode character classes for the hand-written pre-tokenizer matchers.
//
// HF tokenizers splits text with regexes such as GPT-2's
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// We match those patterns by hand (no regex engine), so we need \p{L}, \p{N} and \s.
// The category table is generated (scripts/gen_unicode_tables.py) from Python's
// unicodedata; kUnicodeVersion records its version (14.0.0). Code points assigned in
// later versions classify as Other here, where HF's regex engines may call them
// letters or numbers: the only expected divergence from HF.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gptq::tokenizer {

enum class CharClass : uint8_t {
  Other = 0,
  Letter = 1,     // \p{L}: Lu Ll Lt Lm Lo
  Number = 2,     // \p{N}: Nd Nl No
  Mark = 3,       // \p{M}: Mn Mc Me
  Connector = 4,  // Pc, e.g. '_'
};

namespace detail {
struct ClassRange {
  uint32_t first;
  uint32_t last;
  uint8_t cls;
};
extern const ClassRange kClassRanges[];
extern const std::size_t kClassRangeCount;
extern const char *const kUnicodeVersion;
}  // namespace detail

// The general-category class of a code point (binary search; ASCII by table).
CharClass char_class(uint32_t cp);

inline bool is_letter(uint32_t cp) { return char_class(cp) == CharClass::Letter; }
inline bool is_number(uint32_t cp) { return char_class(cp) == CharClass::Number; }

// The Unicode White_Space property, which is what \s means in both Oniguruma and the
// Rust regex crate (and Rust's char::is_whitespace). It is a short, stable list.
inline bool is_whitespace(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Regex \w as HF uses it for single_word added tokens. The Rust regex crate defines
// \w as Alphabetic + M + Nd + Pc + Join_Control; we approximate Alphabetic with L + Nl
// (i.e. L + N here), which differs only for rare Other_Alphabetic symbols.
inline bool is_word_char(uint32_t cp) {
  CharClass c = char_class(cp);
  return c != CharClass::Other || cp == 0x200C || cp == 0x200D;
}

const char *unicode_version();

}  // namespace gptq::tokenizer
