// Arbitrary bytes as tokenizer.json: loading either succeeds or throws gptq::Error
// (never another exception, a crash or a leak); a file that loads must encode and
// decode without failing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/base/error.h"
#include "core/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view json(reinterpret_cast<const char *>(data), size);
  try {
    auto t = gptq::tokenizer::Tokenizer::from_json(json);
    for (std::string_view text : {std::string_view("Hello world, it's 12 <s> caf\xC3\xA9!"),
                                  std::string_view("\xE2\x96\x81x \xFF\n\n  y")}) {
      auto ids = t.encode(text, true);
      (void)t.decode(ids, false);
      (void)t.decode(ids, true);
    }
  } catch (const gptq::Error &) {
  }
  return 0;
}
