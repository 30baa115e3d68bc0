// NFC / NFD (core/tokenizer/unicode_nfc.h) on arbitrary bytes, repaired to UTF-8 first.
// Invariants:
//   - the output is valid UTF-8;
//   - idempotence: NFC(NFC(x)) == NFC(x), NFD(NFD(x)) == NFD(x);
//   - NFC(NFD(x)) == NFC(x) and NFD(NFC(x)) == NFD(x) (canonical equivalence);
//   - the quick-check fast path equals normalizing the whole text (normalize_full);
//   - normalize_to returning false means the text was already normalized.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/tokenizer/unicode_nfc.h"
#include "core/text/utf8.h"

namespace {

using gptq::tokenizer::NormalForm;
using gptq::tokenizer::normalized;

void check(bool ok, const char *what) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text;
  gptq::utf8::append_repaired(std::string_view(reinterpret_cast<const char *>(data), size), text);
  const std::string c = normalized(NormalForm::NFC, text);
  const std::string d = normalized(NormalForm::NFD, text);
  check(gptq::utf8::is_valid(c), "NFC output is valid UTF-8");
  check(gptq::utf8::is_valid(d), "NFD output is valid UTF-8");
  check(normalized(NormalForm::NFC, c) == c, "NFC(NFC(x)) == NFC(x)");
  check(normalized(NormalForm::NFD, d) == d, "NFD(NFD(x)) == NFD(x)");
  check(normalized(NormalForm::NFC, d) == c, "NFC(NFD(x)) == NFC(x)");
  check(normalized(NormalForm::NFD, c) == d, "NFD(NFC(x)) == NFD(x)");
  check(gptq::tokenizer::detail::normalize_full(NormalForm::NFC, text) == c, "fast NFC == full NFC");
  check(gptq::tokenizer::detail::normalize_full(NormalForm::NFD, text) == d, "fast NFD == full NFD");
  std::string out;
  if (!gptq::tokenizer::normalize_to(NormalForm::NFC, text, out)) check(c == text && out.empty(), "NFC unchanged");
  return 0;
}
