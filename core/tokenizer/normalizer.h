// Normalizers from tokenizer.json ("normalizer"): the ones Llama-2-style and Qwen2
// files use.
//
// Supported: Sequence, Prepend, Replace (string pattern), NFC and NFD (unicode_nfc.h).
// Anything else (NFKC, NFKD, Lowercase, Precompiled, BertNormalizer, a Replace with a
// regex pattern, ...) is
// rejected at load time with Status::Unsupported naming the type, rather than
// silently producing ids that differ from HF.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gptq::tokenizer {

class JsonNode;

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Replaces `text` with its normalized form. `scratch` is reusable working space.
  virtual void normalize(std::string &text, std::string &scratch) const = 0;
};

// Builds the normalizer described by `node` (never null: a JSON null means "none"
// and is handled by the caller).
std::unique_ptr<Normalizer> make_normalizer(const JsonNode &node);

}  // namespace gptq::tokenizer
