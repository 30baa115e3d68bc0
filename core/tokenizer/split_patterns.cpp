#include "core/tokenizer/split_patterns.h"

#include <cstdint>

#include "core/tokenizer/unicode.h"
#include "core/text/utf8.h"

namespace gptq::tokenizer {

namespace {

constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Classes of one character as the patterns see it.
enum Kind : uint8_t { kLetter, kNumber, kSpace, kOther };

struct Cursor {
  std::string_view s;
  // Kind and byte length of the character at i (i < s.size()).
  Kind kind_at(std::size_t i, std::size_t *len, uint32_t *cp_out = nullptr) const {
    uint32_t cp = utf8::decode_at(s, i, len);
    if (cp_out) *cp_out = cp;
    if (is_whitespace(cp)) return kSpace;
    CharClass c = char_class(cp);
    if (c == CharClass::Letter) return kLetter;
    if (c == CharClass::Number) return kNumber;
    return kOther;
  }
  // End of the run of characters of kind k starting at i (may be i).
  std::size_t run(std::size_t i, Kind k) const {
    std::size_t len;
    while (i < s.size() && kind_at(i, &len) == k) i += len;
    return i;
  }
  // End of at most `max` characters of kind k from i.
  std::size_t run_max(std::size_t i, Kind k, int max) const {
    std::size_t len;
    for (int n = 0; n < max && i < s.size() && kind_at(i, &len) == k; ++n) i += len;
    return i;
  }
  std::size_t newline_run(std::size_t i) const {
    while (i < s.size() && (s[i] == '\r' || s[i] == '\n')) ++i;
    return i;
  }
};

// 's 't 're 've 'm 'll 'd at pos (s[pos] == '\''); 0 when none. With `fold`, letters
// match case-insensitively under Unicode simple case folding, where 's' also matches
// U+017F LATIN SMALL LETTER LONG S.
std::size_t match_contraction(std::string_view s, std::size_t pos, bool fold) {
  auto lower = [&](std::size_t i) -> int {
    if (i >= s.size()) return -1;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (fold && c >= 'A' && c <= 'Z') return c + 32;
    return c;
  };
  int a = lower(pos + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return pos + 2;
  if (fold && pos + 2 < s.size() && s[pos + 1] == '\xC5' && s[pos + 2] == '\xBF') return pos + 3;
  int b = lower(pos + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return pos + 3;
  return 0;
}

// \s+(?!\S) then \s+, starting at a whitespace character.
std::size_t match_trailing_space(const Cursor &c, std::size_t pos) {
  std::size_t end = c.run(pos, kSpace);
  if (end == c.s.size()) return end;
  // Followed by a non-space: give back the last whitespace character so that it can
  // join the next word (" ?\p{L}+" etc.), unless the run is only one character, in
  // which case the first alternative fails and plain \s+ takes the whole run.
  std::size_t last = pos, len;
  for (std::size_t i = pos; i < end; i += len) {
    c.kind_at(i, &len);
    last = i;
  }
  return last > pos ? last : end;
}

std::size_t match_gpt2(const Cursor &c, std::size_t pos) {
  const std::string_view s = c.s;
  if (s[pos] == '\'') {
    if (std::size_t e = match_contraction(s, pos, false)) return e;
  }
  std::size_t len;
  Kind k = c.kind_at(pos, &len);
  std::size_t start = pos;
  if (s[pos] == ' ' && pos + 1 < s.size()) {
    std::size_t len2;
    Kind k2 = c.kind_at(pos + 1, &len2);
    if (k2 != kSpace) {
      k = k2;
      start = pos + 1;
      len = len2;
    }
  }
  if (k != kSpace) return c.run(start + len, k);
  return match_trailing_space(c, pos);
}

std::size_t match_llama3(const Cursor &c, std::size_t pos, int max_digits) {
  const std::string_view s = c.s;
  if (s[pos] == '\'') {
    if (std::size_t e = match_contraction(s, pos, true)) return e;
  }
  std::size_t len;
  uint32_t cp;
  Kind k = c.kind_at(pos, &len, &cp);
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (k == kLetter) return c.run(pos + len, kLetter);
  if (k != kNumber && cp != '\r' && cp != '\n' && pos + len < s.size()) {
    std::size_t len2;
    if (c.kind_at(pos + len, &len2) == kLetter) return c.run(pos + len + len2, kLetter);
  }
  // \p{N}{1,3}
  if (k == kNumber) return c.run_max(pos, kNumber, max_digits);
  // " ?[^\s\p{L}\p{N}]+[\r\n]*"
  {
    std::size_t start = pos;
    Kind kk = k;
    std::size_t l = len;
    if (s[pos] == ' ' && pos + 1 < s.size()) {
      kk = c.kind_at(pos + 1, &l);
      start = pos + 1;
    }
    if (kk == kOther) return c.newline_run(c.run(start + l, kOther));
  }
  // \s*[\r\n]+ : the whitespace run up to and including its last \r or \n.
  std::size_t end = c.run(pos, kSpace);
  for (std::size_t i = end; i > pos; --i) {
    if (s[i - 1] == '\r' || s[i - 1] == '\n') return i;
  }
  return match_trailing_space(c, pos);
}

}  // namespace

std::optional<SplitPattern> known_split_pattern(std::string_view regex) {
  if (regex == kGpt2) return SplitPattern::Gpt2;
  if (regex == kLlama3) return SplitPattern::Llama3;
  if (regex == kQwen2) return SplitPattern::Qwen2;
  return std::nullopt;
}

std::size_t match_split_pattern(SplitPattern p, std::string_view s, std::size_t pos) {
  Cursor c{s};
  switch (p) {
    case SplitPattern::Gpt2: return match_gpt2(c, pos);
    case SplitPattern::Llama3: return match_llama3(c, pos, 3);
    case SplitPattern::Qwen2: return match_llama3(c, pos, 1);
  }
  return s.size();
}

}  // namespace gptq::tokenizer
