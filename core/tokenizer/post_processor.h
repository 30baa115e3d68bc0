// Post-processors from tokenizer.json ("post_processor"): what
// encode(text, add_special_tokens=true) adds around the ids of one sequence.
//
// Supported: TemplateProcessing (the "single" template), RobertaProcessing and
// BertProcessing (cls ... sep), ByteLevel (changes offsets only, so no ids) and
// Sequence. Pair templates are read but not used: we encode one text at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace gptq::tokenizer {

class JsonNode;

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Rewrites `ids` (the encoded sequence) in place. Called only when the caller asks
  // for special tokens; without them every supported processor is the identity.
  virtual void add_special_tokens(std::vector<int32_t> &ids) const = 0;
};

std::unique_ptr<PostProcessor> make_post_processor(const JsonNode &node);

}  // namespace gptq::tokenizer
