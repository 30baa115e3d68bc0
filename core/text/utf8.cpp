#include "core/text/utf8.h"

#include <cstring>

namespace gptq::utf8 {

std::size_t valid_sequence_length(std::string_view s, std::size_t i, std::size_t *bad_len) {
  const std::size_t n = s.size();
  auto at = [&](std::size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c = at(i);
  if (c < 0x80) return 1;
  // Table 3-7 of the Unicode standard: the allowed range of the second byte depends
  // on the first; later bytes are 80..BF. A maximal subpart is the longest prefix of
  // a well-formed sequence, so we count how many bytes did fit before failing.
  std::size_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    *bad_len = 1;
    return 0;
  }
  std::size_t k = 1;
  for (; k < need; ++k) {
    if (i + k >= n) break;
    uint8_t b = at(i + k);
    uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) break;
  }
  if (k == need) return need;
  *bad_len = k;
  return 0;
}

bool is_valid(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    // ASCII fast path: 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t bad = 0;
    std::size_t len = valid_sequence_length(s, i, &bad);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

void append_repaired(std::string_view s, std::string &out) {
  std::size_t i = 0, run = 0;
  const std::size_t n = s.size();
  while (i < n) {
    std::size_t bad = 0;
    std::size_t len = valid_sequence_length(s, i, &bad);
    if (len != 0) {
      i += len;
      continue;
    }
    out.append(s.data() + run, i - run);
    out.append(kReplacementUtf8);
    i += bad;
    run = i;
  }
  out.append(s.data() + run, n - run);
}

void append_code_point(uint32_t cp, std::string &out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace gptq::utf8
