// Pre-tokenizers from tokenizer.json ("pre_tokenizer"): split normalized text into
// words that the model encodes independently.
//
// Supported: ByteLevel (add_prefix_space, use_regex; trim_offsets only affects offsets,
// which we do not produce), Split (the GPT-2 / Llama-3 / Qwen2 regexes, recognised by
// their exact text and matched by hand, or a literal string pattern; every
// SplitDelimiterBehavior and invert), Metaspace (replacement, prepend_scheme
// first/always/never, split) and Sequence. Others are Status::Unsupported at load.
//
// ByteLevel maps every byte to a printable character before the model sees it. We do
// not materialise that mapped text: words stay raw bytes and the BPE model looks the
// mapped characters up itself (`byte_level()` says so), which saves a copy per word
// and lets the word cache key on the raw bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gptq::tokenizer {

class JsonNode;

struct WordSpan {
  uint32_t begin;
  uint32_t end;
};

// A list of words stored back to back in one buffer, reused between calls.
struct Words {
  std::string text;
  std::vector<WordSpan> spans;
  void clear() {
    text.clear();
    spans.clear();
  }
  std::string_view word(std::size_t i) const {
    return std::string_view(text).substr(spans[i].begin, spans[i].end - spans[i].begin);
  }
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Appends the words of `text` to `out`. `at_input_start` is true when `text` begins
  // at byte 0 of the caller's input (Metaspace's prepend_scheme "first" needs it).
  // Empty words are never produced.
  virtual void split(std::string_view text, bool at_input_start, Words &out) const = 0;
  // True when the words are raw bytes to be mapped by the GPT-2 byte-to-unicode table.
  virtual bool byte_level() const { return false; }
};

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonNode &node);

// The GPT-2 byte-to-unicode table: byte b is shown as the code point byte_to_unicode(b).
uint32_t byte_to_unicode(uint8_t b);

}  // namespace gptq::tokenizer
