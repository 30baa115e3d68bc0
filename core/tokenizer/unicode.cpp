#include "core/tokenizer/unicode.h"

#include <array>

namespace gptq::tokenizer {

namespace {

// ASCII classes, computed once from the generated ranges so both agree by construction.
std::array<uint8_t, 128> make_ascii_table() {
  std::array<uint8_t, 128> t{};
  for (std::size_t i = 0; i < detail::kClassRangeCount; ++i) {
    const auto &r = detail::kClassRanges[i];
    if (r.first >= 128) break;
    for (uint32_t cp = r.first; cp <= r.last && cp < 128; ++cp) t[cp] = r.cls;
  }
  return t;
}

const std::array<uint8_t, 128> kAscii = make_ascii_table();

}  // namespace

CharClass char_class(uint32_t cp) {
  if (cp < 128) return static_cast<CharClass>(kAscii[cp]);
  std::size_t lo = 0, hi = detail::kClassRangeCount;
  while (lo < hi) {
    std::size_t mid = (lo + hi) / 2;
    const auto &r = detail::kClassRanges[mid];
    if (cp < r.first) {
      hi = mid;
    } else if (cp > r.last) {
      lo = mid + 1;
    } else {
      return static_cast<CharClass>(r.cls);
    }
  }
  return CharClass::Other;
}

const char *unicode_version() { return detail::kUnicodeVersion; }

}  // namespace gptq::tokenizer
