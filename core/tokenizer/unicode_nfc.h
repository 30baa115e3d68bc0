// Unicode canonical normalization: NFC and NFD (UAX #15), for the "NFC" / "NFD"
// normalizers of tokenizer.json (Qwen2 files use NFC).
//
// The algorithm is the standard one: full canonical decomposition (Hangul syllables
// algorithmically), canonical ordering of each run of non-starters by combining class
// (stable), then for NFC canonical composition of unblocked pairs, skipping the
// composition exclusions, Hangul LV / LVT algorithmically.
//
// Most text is already normalized, so the work is done only where it can change
// something: a scan with the quick-check properties (NFC_QC; for NFD "has no
// decomposition") and combining-class order finds the first character that may
// change, and only the span between the normalization boundaries around it is
// rewritten. ASCII and characters with no normalization properties (most of the BMP,
// CJK, Hangul syllables for NFC, ...) cost a byte test or a table load each.
//
// The data is generated (scripts/gen_unicode_nfc_tables.py) from Unicode 9.0.0, the
// version HF tokenizers normalizes with (its crate unicode-normalization-alignments
// 0.1.12 has 9.0.0 tables), not the 16.0.0 of the category tables in unicode.h: a
// character assigned after 9.0 is a starter that never (de)composes, as in HF. The
// algorithm is the standard one, which is also the crate's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gptq::tokenizer {

enum class NormalForm : uint8_t { NFC, NFD };

// Appends the normal form of `text` (valid UTF-8) to `out` and returns true, or
// returns false without touching `out` when `text` is already in that form.
bool normalize_to(NormalForm form, std::string_view text, std::string &out);

// The normal form of `text` (valid UTF-8).
std::string normalized(NormalForm form, std::string_view text);

// Replaces `text` (valid UTF-8) by its normal form; `scratch` is working space. No
// copy is made when the text is already normalized.
void normalize_in_place(NormalForm form, std::string &text, std::string &scratch);

// The canonical combining class of a code point (0 for starters).
uint8_t combining_class(uint32_t cp);

const char *nfc_unicode_version();

namespace detail {
// The normal form computed over the whole text, without the quick-check scan: the
// reference the fast path is tested against (tests, fuzzer).
std::string normalize_full(NormalForm form, std::string_view text);

struct CccRange {
  uint32_t first;
  uint32_t last;
  uint8_t ccc;
};
struct NfcDecomp {
  uint32_t cp;
  uint32_t first;
  uint32_t second;   // 0 for a singleton decomposition
  uint8_t excluded;  // Full_Composition_Exclusion: NFC never produces cp
};
extern const CccRange kCccRanges[];
extern const std::size_t kCccRangeCount;
extern const NfcDecomp kNfcDecomps[];
extern const std::size_t kNfcDecompCount;
extern const char *const kNfcUnicodeVersion;
}  // namespace detail

}  // namespace gptq::tokenizer
