// Arbitrary bytes encoded and decoded by the two real test tokenizers and the synthetic
// Qwen2-style one (loaded once), checking the invariants:
//   - ids are in range; with special tokens = BOS + ids without (Qwen2: no BOS);
//   - decode gives valid UTF-8; stream decoding concatenates to decode (both skip modes);
//   - byte-level BPE (OPT) round-trips the (UTF-8-repaired) input exactly; the
//     Llama-2 form does too when the input has no "<" (added tokens) and no "▁";
//     the Qwen2 form (NFC normalizer) gives back NFC of the input.
// Models come from $GPTQ_SHARED_DIR or ../shared beside the source tree, the synthetic
// tokenizer from tests/data/tokenizer/qwen2-synthetic.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "core/base/error.h"
#include "core/model/tokenizer_files.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/unicode_nfc.h"
#include "core/text/utf8.h"

namespace {

using gptq::tokenizer::StreamDecoder;
using gptq::tokenizer::Tokenizer;

std::filesystem::path shared_dir() {
  if (const char *d = std::getenv("GPTQ_SHARED_DIR"); d && *d) return d;
  return std::filesystem::path(GPTQ_SOURCE_DIR) / ".." / "shared";
}

const Tokenizer &load_once(std::unique_ptr<Tokenizer> &slot, const std::filesystem::path &dir) {
  if (!slot) slot = std::make_unique<Tokenizer>(gptq::model::open_tokenizer(dir));
  return *slot;
}

enum class Form { ByteLevel, Llama2, Qwen2 };

void check(bool ok, const char *what) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}

void run(const Tokenizer &t, std::string_view input, Form form) {
  std::string text;
  gptq::utf8::append_repaired(input, text);
  const auto with = t.encode(input, true);
  const auto without = t.encode(input, false);
  for (int32_t id : with) check(id >= 0 && std::size_t(id) < t.vocab_size(), "id in range");
  if (form == Form::Qwen2) {
    check(with == without, "no special tokens added");
  } else {
    check(with.size() == without.size() + 1 && std::equal(without.begin(), without.end(), with.begin() + 1),
          "special tokens = BOS + ids");
  }
  for (bool skip : {false, true}) {
    const std::string full = t.decode(with, skip);
    check(gptq::utf8::is_valid(full), "decode is valid UTF-8");
    StreamDecoder d(t, skip);
    std::string streamed;
    for (int32_t id : with) {
      std::string piece = d.push(id);
      check(gptq::utf8::is_valid(piece), "stream pieces are whole characters");
      streamed += piece;
    }
    streamed += d.finish();
    check(streamed == full, "stream decode == decode");
  }
  if (form == Form::Qwen2) {
    check(t.decode(without, false) == gptq::tokenizer::normalized(gptq::tokenizer::NormalForm::NFC, text),
          "decode(encode(x)) == NFC(x)");
  } else if (form == Form::ByteLevel ||
             (text.find('<') == std::string::npos && text.find("\xE2\x96\x81") == std::string::npos)) {
    check(t.decode(without, false) == text, "decode(encode(x)) == x");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view input(reinterpret_cast<const char *>(data), size);
  static std::unique_ptr<Tokenizer> opt, llama, qwen2;
  run(load_once(opt, shared_dir() / "models/docs-opt-15m"), input, Form::ByteLevel);
  run(load_once(llama, shared_dir() / "models/docs-llama-16m"), input, Form::Llama2);
  run(load_once(qwen2, std::filesystem::path(GPTQ_SOURCE_DIR) / "tests/data/tokenizer/qwen2-synthetic"), input,
      Form::Qwen2);
  return 0;
}
