#include "core/tokenizer/unicode_nfc.h"

#include <algorithm>
#include <array>
#include <map>
#include <unordered_map>
#include <vector>

#include "core/text/utf8.h"

namespace gptq::tokenizer {

namespace {

// Hangul syllables (UAX #15 / Unicode §3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount;
constexpr uint32_t kSCount = kLCount * kNCount;

inline bool is_hangul_syllable(uint32_t cp) { return cp - kSBase < kSCount; }

// Per code point properties, packed in 32 bits:
//   bits 0-7  canonical combining class
//   bit 8     has a canonical decomposition in kNfcDecomps (Hangul syllables: no)
//   bit 9     NFC_QC = No (excluded from composition)
//   bit 10    NFC_QC = Maybe (may combine with a preceding character)
//   bit 11    not an NFC boundary: NFC of a text cannot be computed independently on
//             both sides of a point just before this character
//   bits 12+  index + 1 of the decomposition in kNfcDecomps
// Zero means "a starter that normalization leaves alone", the common case.
constexpr uint32_t kCccMask = 0xFF;
constexpr uint32_t kHasDecomp = 1u << 8;
constexpr uint32_t kQcNo = 1u << 9;
constexpr uint32_t kQcMaybe = 1u << 10;
constexpr uint32_t kNotBoundary = 1u << 11;
constexpr int kIndexShift = 12;

constexpr int kBlockShift = 7;
constexpr uint32_t kBlockSize = 1u << kBlockShift;
constexpr uint32_t kCodePoints = 0x110000;

struct Tables {
  // Two-stage lookup: stage1[cp >> 7] is the start of cp's block in stage2.
  std::vector<uint32_t> stage1;
  std::vector<uint32_t> stage2;
  // Primary composites, by (first << 21 | second).
  std::unordered_map<uint64_t, uint32_t> compose;

  uint32_t info(uint32_t cp) const {
    if (cp >= kCodePoints) return 0;
    return stage2[stage1[cp >> kBlockShift] + (cp & (kBlockSize - 1))];
  }
};

uint64_t pair_key(uint32_t a, uint32_t b) { return (uint64_t(a) << 21) | b; }

Tables build_tables() {
  using detail::kNfcDecomps;
  std::map<uint32_t, uint32_t> info;  // sparse: only code points with properties
  for (std::size_t i = 0; i < detail::kCccRangeCount; ++i) {
    const auto &r = detail::kCccRanges[i];
    for (uint32_t cp = r.first; cp <= r.last; ++cp) info[cp] |= r.ccc | kNotBoundary;
  }
  Tables t;
  for (std::size_t i = 0; i < detail::kNfcDecompCount; ++i) {
    const auto &d = kNfcDecomps[i];
    info[d.cp] |= kHasDecomp | (uint32_t(i + 1) << kIndexShift);
    if (d.excluded) {
      info[d.cp] |= kQcNo | kNotBoundary;
    } else {
      info[d.second] |= kQcMaybe | kNotBoundary;
      t.compose.emplace(pair_key(d.first, d.second), d.cp);
    }
  }
  // Hangul: V and T jamo combine with a preceding L or LV.
  for (uint32_t cp = kVBase; cp < kVBase + kVCount; ++cp) info[cp] |= kQcMaybe | kNotBoundary;
  for (uint32_t cp = kTBase + 1; cp < kTBase + kTCount; ++cp) info[cp] |= kQcMaybe | kNotBoundary;
  // A composite is a boundary only when its full decomposition starts with a starter
  // that does not combine backwards.
  auto first_of_full = [&](uint32_t cp) {
    for (;;) {
      auto it = info.find(cp);
      if (it == info.end() || !(it->second & kHasDecomp)) return cp;
      cp = kNfcDecomps[(it->second >> kIndexShift) - 1].first;
    }
  };
  for (auto &[cp, v] : info) {
    if (!(v & kHasDecomp)) continue;
    auto it = info.find(first_of_full(cp));
    if (it != info.end() && (it->second & (kCccMask | kQcMaybe))) v |= kNotBoundary;
  }

  // Blocks: block 0 is all zeros; identical blocks are shared.
  t.stage1.assign(kCodePoints >> kBlockShift, 0);
  t.stage2.assign(kBlockSize, 0);
  std::map<std::vector<uint32_t>, uint32_t> seen;
  seen[std::vector<uint32_t>(kBlockSize, 0)] = 0;
  for (auto it = info.begin(); it != info.end();) {
    const uint32_t block = it->first >> kBlockShift;
    std::vector<uint32_t> b(kBlockSize, 0);
    for (; it != info.end() && (it->first >> kBlockShift) == block; ++it)
      b[it->first & (kBlockSize - 1)] = it->second;
    auto [pos, inserted] = seen.emplace(b, uint32_t(t.stage2.size()));
    if (inserted) t.stage2.insert(t.stage2.end(), b.begin(), b.end());
    t.stage1[block] = pos->second;
  }
  return t;
}

const Tables &tables() {
  static const Tables t = build_tables();
  return t;
}

// A code point with its combining class in the top byte, so that sorting by the key
// `x >> 24` orders by class.
inline uint32_t with_ccc(uint32_t cp, uint32_t info) { return ((info & kCccMask) << 24) | cp; }
inline uint32_t cp_of(uint32_t x) { return x & 0xFFFFFF; }
inline uint32_t ccc_of(uint32_t x) { return x >> 24; }

void decompose(const Tables &t, uint32_t cp, std::vector<uint32_t> &out) {
  if (is_hangul_syllable(cp)) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  const uint32_t info = t.info(cp);
  if (info & kHasDecomp) {
    const auto &d = detail::kNfcDecomps[(info >> kIndexShift) - 1];
    decompose(t, d.first, out);
    if (d.second) decompose(t, d.second, out);
    return;
  }
  out.push_back(with_ccc(cp, info));
}

// Canonical ordering: each maximal run of non-starters, stably sorted by class.
void reorder(std::vector<uint32_t> &v) {
  const std::size_t n = v.size();
  for (std::size_t i = 0; i < n;) {
    if (ccc_of(v[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    while (j < n && ccc_of(v[j]) != 0) ++j;
    if (j - i > 1) {
      auto by_class = [](uint32_t a, uint32_t b) { return ccc_of(a) < ccc_of(b); };
      if (j - i <= 16) {  // insertion sort (stable) for the usual short runs
        for (std::size_t k = i + 1; k < j; ++k) {
          const uint32_t x = v[k];
          std::size_t m = k;
          for (; m > i && by_class(x, v[m - 1]); --m) v[m] = v[m - 1];
          v[m] = x;
        }
      } else {
        std::stable_sort(v.begin() + std::ptrdiff_t(i), v.begin() + std::ptrdiff_t(j), by_class);
      }
    }
    i = j;
  }
}

uint32_t compose_pair(const Tables &t, uint32_t a, uint32_t b) {
  // Hangul LV and LV + T.
  if (a - kLBase < kLCount && b - kVBase < kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (is_hangul_syllable(a) && (a - kSBase) % kTCount == 0 && b - kTBase - 1 < kTCount - 1)
    return a + (b - kTBase);
  auto it = t.compose.find(pair_key(a, b));
  return it == t.compose.end() ? 0 : it->second;
}

// Canonical composition of a decomposed, ordered sequence, in place.
void compose(const Tables &t, std::vector<uint32_t> &v) {
  std::size_t out = 0;
  std::size_t starter = SIZE_MAX;  // index in the output of the last starter
  int last_ccc = -1;               // class of the last character after it; -1: none
  for (std::size_t i = 0; i < v.size(); ++i) {
    const uint32_t x = v[i];
    const int ccc = int(ccc_of(x));
    // Not blocked: adjacent to the starter, or every character between has a lower
    // (non-zero) class; the order makes that "the last one's class is lower".
    if (starter != SIZE_MAX && (last_ccc == -1 || (last_ccc != 0 && last_ccc < ccc))) {
      // Only NFC_QC=Maybe characters (Hangul V and T jamo included) combine backwards.
      if (t.info(cp_of(x)) & kQcMaybe) {
        if (uint32_t c = compose_pair(t, cp_of(v[starter]), cp_of(x))) {
          v[starter] = c;  // composites are starters
          continue;
        }
      }
    }
    if (ccc == 0) {
      starter = out;
      last_ccc = -1;
    } else {
      last_ccc = ccc;
    }
    v[out++] = x;
  }
  v.resize(out);
}

void normalize_span(NormalForm form, const Tables &t, std::string_view s, std::string &out) {
  thread_local std::vector<uint32_t> v;
  v.clear();
  for (std::size_t i = 0, len = 0; i < s.size(); i += len) decompose(t, utf8::decode_at(s, i, &len), v);
  reorder(v);
  if (form == NormalForm::NFC) compose(t, v);
  for (uint32_t x : v) utf8::append_code_point(cp_of(x), out);
}

// Quick-check predicates: `ok` when the character itself cannot change (class order
// aside), `boundary` when normalization may restart just before it.
struct NfcForm {
  static bool ok(uint32_t, uint32_t info) { return !(info & (kQcNo | kQcMaybe)); }
  static bool boundary(uint32_t, uint32_t info) { return !(info & kNotBoundary); }
};
struct NfdForm {
  static bool ok(uint32_t cp, uint32_t info) { return !(info & kHasDecomp) && !is_hangul_syllable(cp); }
  static bool boundary(uint32_t cp, uint32_t info) {
    return (info & (kCccMask | kHasDecomp)) == 0 && !is_hangul_syllable(cp);
  }
};

template <class Form>
bool normalize_impl(NormalForm form, std::string_view s, std::string &out) {
  const Tables &t = tables();
  const std::size_t n = s.size();
  std::size_t copied = 0;    // s[0, copied) is in `out` already (when `changed`)
  std::size_t boundary = 0;  // the last place before `i` where normalization may restart
  uint32_t last_ccc = 0;
  bool changed = false;
  std::size_t i = 0;
  while (i < n) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      do ++i;
      while (i < n && static_cast<uint8_t>(s[i]) < 0x80);
      boundary = i - 1;
      last_ccc = 0;
      continue;
    }
    std::size_t len;
    const uint32_t cp = utf8::decode_at(s, i, &len);
    const uint32_t info = t.info(cp);
    const uint32_t ccc = info & kCccMask;
    if (Form::ok(cp, info) && (ccc == 0 || ccc >= last_ccc)) {
      if (Form::boundary(cp, info)) boundary = i;
      last_ccc = ccc;
      i += len;
      continue;
    }
    // s[i] may change: rewrite from the last boundary to the next one.
    std::size_t end = i + len;
    while (end < n) {
      if (static_cast<uint8_t>(s[end]) < 0x80) break;
      std::size_t l;
      const uint32_t c = utf8::decode_at(s, end, &l);
      if (Form::boundary(c, t.info(c))) break;
      end += l;
    }
    if (!changed) {
      out.reserve(out.size() + n + n / 8);
      changed = true;
    }
    out.append(s, copied, boundary - copied);
    normalize_span(form, t, s.substr(boundary, end - boundary), out);
    copied = boundary = i = end;
    last_ccc = 0;
  }
  if (changed) out.append(s, copied, n - copied);
  return changed;
}

}  // namespace

bool normalize_to(NormalForm form, std::string_view text, std::string &out) {
  return form == NormalForm::NFC ? normalize_impl<NfcForm>(form, text, out)
                                 : normalize_impl<NfdForm>(form, text, out);
}

std::string normalized(NormalForm form, std::string_view text) {
  std::string out;
  if (!normalize_to(form, text, out)) out.assign(text);
  return out;
}

void normalize_in_place(NormalForm form, std::string &text, std::string &scratch) {
  scratch.clear();
  if (normalize_to(form, text, scratch)) text.swap(scratch);
}

std::string detail::normalize_full(NormalForm form, std::string_view text) {
  std::string out;
  normalize_span(form, tables(), text, out);
  return out;
}

uint8_t combining_class(uint32_t cp) { return uint8_t(tables().info(cp) & kCccMask); }

const char *nfc_unicode_version() { return detail::kNfcUnicodeVersion; }

}  // namespace gptq::tokenizer
