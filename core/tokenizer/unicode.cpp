#include "core/tokenizer/unicode.h"

#include <array>

namespace gptq::tokenizer {

namespace {

// ASCII classes, computed once from the generated ranges so both agree by construction.
std::array<uint8_t, 128> make_ascii_table(const detail::ClassRange *ranges, std::size_t count) {
  std::array<uint8_t, 128> t{};
  for (uint32_t cp = 0; cp < 128; ++cp) t[cp] = detail::range_class(ranges, count, cp);
  return t;
}

const std::array<uint8_t, 128> kAsciiClass = make_ascii_table(detail::kClassRanges, detail::kClassRangeCount);
const std::array<uint8_t, 128> kAsciiWord = make_ascii_table(detail::kWordRanges, detail::kWordRangeCount);

}  // namespace

uint8_t detail::range_class(const ClassRange *ranges, std::size_t count, uint32_t cp) {
  std::size_t lo = 0, hi = count;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    const auto &r = ranges[mid];
    if (cp < r.first) {
      hi = mid;
    } else if (cp > r.last) {
      lo = mid + 1;
    } else {
      return r.cls;
    }
  }
  return 0;
}

CharClass char_class(uint32_t cp) {
  if (cp < 128) return static_cast<CharClass>(kAsciiClass[cp]);
  return static_cast<CharClass>(detail::range_class(detail::kClassRanges, detail::kClassRangeCount, cp));
}

bool is_word_char(uint32_t cp) {
  if (cp < 128) return kAsciiWord[cp] != 0;
  return detail::range_class(detail::kWordRanges, detail::kWordRangeCount, cp) != 0;
}

const char *unicode_version() { return detail::kUnicodeVersion; }

}  // namespace gptq::tokenizer
