// Decoders from tokenizer.json ("decoder"): token strings back to text, as a pipeline
// that can run incrementally.
//
// Supported: ByteLevel, Replace (string pattern), ByteFallback, Fuse, Strip, Metaspace
// and Sequence; no decoder at all joins tokens with " " as HF does. Others (WordPiece,
// BPEDecoder, CTC, ...) are Status::Unsupported at load.
//
// HF applies the chain to the whole token list at once. We run the same chain as a
// pipeline of stages that each see tokens one at a time and hold back only what they
// cannot decide yet: a ByteFallback run of <0xNN> tokens (valid UTF-8 as a whole, or
// one U+FFFD per byte), a ByteLevel byte sequence that is not a complete character,
// characters a Strip may still remove at the end, the start of a Replace pattern.
// decode() pushes every token and then finishes the pipeline, and StreamDecoder does
// the same token by token, so the streamed pieces concatenate to exactly decode()'s
// result, and every piece is whole UTF-8 characters.
//
// "Fused" stages come after a Fuse or ByteLevel decoder: HF sees a single token there,
// so token boundaries no longer matter and the stage works on a character stream.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gptq::tokenizer {

class JsonNode;

// One stage of a running pipeline; owns the next stage.
class DecodeStage {
 public:
  virtual ~DecodeStage() = default;
  // One token (or, for fused stages, the next chunk of the single fused token).
  virtual void push(std::string_view piece) = 0;
  // Flushes what is held back, then finishes the next stage.
  virtual void finish() = 0;
};

// The decoder configuration; start() makes a fresh pipeline writing into `out`.
class DecoderChain {
 public:
  DecoderChain() = default;  // no decoder: tokens joined with " "
  explicit DecoderChain(const JsonNode &node);
  // Text cleanup transformers applies after decoding when the tokenizer config sets
  // clean_up_tokenization_spaces (" ." -> "." and friends).
  void set_cleanup(bool on) { cleanup_ = on; }
  std::unique_ptr<DecodeStage> start(std::string &out) const;

  struct Step {
    enum Kind { Replace, ByteFallback, Fuse, Strip, Metaspace, ByteLevel } kind;
    std::string a, b;  // Replace: pattern, content; Strip/Metaspace: the character
    std::size_t start = 0, stop = 0;
    bool prepend = true;  // Metaspace: prepend_scheme != never
  };

 private:
  void add(const JsonNode &node);
  std::vector<Step> steps_;
  bool none_ = true;
  bool cleanup_ = false;
};

}  // namespace gptq::tokenizer
