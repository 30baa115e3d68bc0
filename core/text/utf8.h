// UTF-8 validation, decoding and repair: one implementation for the tokenizer
// and for strings of configs read from binary flatbuffers.
//
// Invalid input is repaired the way Python's bytes.decode("utf-8", errors="replace")
// and Rust's String::from_utf8_lossy do it: each *maximal subpart* of an ill-formed
// sequence (Unicode §3.9, "U+FFFD substitution of maximal subparts") becomes one
// U+FFFD. So `encode(bytes)` tokenizes exactly what HF gets when a caller first decodes
// the bytes with errors="replace" and passes the str to the tokenizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gptq::utf8 {

inline constexpr uint32_t kReplacement = 0xFFFD;
inline constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

// Length of the well-formed sequence starting at s[i], or 0 when s[i..] starts an
// ill-formed one. When 0, *bad_len is the length of the maximal subpart to replace
// (at least 1).
std::size_t valid_sequence_length(std::string_view s, std::size_t i, std::size_t *bad_len);

// Decodes the well-formed sequence at s[i] (length n from valid_sequence_length).
inline uint32_t decode_valid(std::string_view s, std::size_t i, std::size_t n) {
  auto b = [&](std::size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i + k])); };
  switch (n) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

// Decodes the code point at s[i] of a string known to be valid UTF-8; sets *len.
inline uint32_t decode_at(std::string_view s, std::size_t i, std::size_t *len) {
  uint8_t c = static_cast<uint8_t>(s[i]);
  std::size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  *len = n;
  return decode_valid(s, i, n);
}

// Length in bytes of the character starting with lead byte `c` (valid UTF-8 assumed).
inline std::size_t sequence_length(uint8_t c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

bool is_valid(std::string_view s);

// Appends s to out with every maximal ill-formed subpart replaced by U+FFFD.
void append_repaired(std::string_view s, std::string &out);

void append_code_point(uint32_t cp, std::string &out);

}  // namespace gptq::utf8
