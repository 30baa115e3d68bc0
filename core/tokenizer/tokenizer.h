// The tokenizer of a Hugging Face model: tokenizer.json (+ tokenizer_config.json).
//
// encode(text, true) returns what transformers' `tokenizer(text)["input_ids"]` returns,
// and decode(ids, skip) what `tokenizer.decode(ids, skip_special_tokens=skip)` returns,
// for the two BPE families we support exactly:
//   - byte-level BPE (GPT-2, OPT, Qwen2, Llama-3): ByteLevel pre-tokenizer and decoder,
//     or Split with the GPT-2 / Llama-3 / Qwen2 regexes followed by ByteLevel, and the
//     NFC (or NFD) normalizer Qwen2 files use;
//   - SentencePiece-style BPE (Llama-2, Mistral, TinyLlama): Prepend("▁") + Replace
//     normalizers or a Metaspace pre-tokenizer, byte_fallback, fuse_unk, and the
//     Replace/ByteFallback/Fuse/Strip decoder chain.
// Any other component (WordPiece/Unigram models, NFKC and other normalizers, unknown
// regexes, ...) is refused at load with Status::Unsupported naming it; a malformed
// file gives Status::Format naming the file and the JSON path.
//
// Input text that is not valid UTF-8 is first repaired the way Python's
// bytes.decode("utf-8", errors="replace") does (each maximal ill-formed subpart becomes
// U+FFFD), so encode(bytes) equals HF on the repaired string.
//
// A Tokenizer is immutable once loaded; encode/decode may be called from many threads
// at once (each thread keeps its own word cache).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gptq::tokenizer {

class Tokenizer {
 public:
  // From file contents (this room reads no files: core/model/tokenizer_files.h
  // finds and reads them); `name` is used in error messages, the config's as
  // tokenizer_config.json beside it. An empty config means none.
  // `chat_template_file`: a chat_template.jinja sits beside it (the model has
  // a chat template whatever the config says). Error(Format/Unsupported)
  // naming the file and JSON path when the content is malformed or not
  // supported.
  static Tokenizer from_json(std::string_view tokenizer_json, std::string_view config_json = {},
                             const std::string &name = "tokenizer.json", bool chat_template_file = false);

  Tokenizer(Tokenizer &&) noexcept;
  Tokenizer &operator=(Tokenizer &&) noexcept;
  ~Tokenizer();

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token's string as HF's id_to_token gives it (added tokens first, then the
  // model vocabulary), or nullopt for an unknown id.
  std::optional<std::string> id_to_token(int32_t id) const;
  // One past the largest id of the model vocabulary and the added tokens, i.e. the
  // number of embedding rows the ids can index.
  std::size_t vocab_size() const;
  bool is_special(int32_t id) const;

  // From tokenizer_config.json (bos_token / eos_token), when set and known.
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;
  bool has_chat_template() const;

  struct Impl;
  const Impl &impl() const { return *impl_; }

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes ids as they arrive (e.g. from generation). push() returns the text that is
// now final: only whole UTF-8 characters, held back while a later token could still
// change it (an unfinished multi-byte character, a run of <0xNN> byte tokens, a
// trailing space a Strip decoder may remove). The pieces of all push() calls and the
// final finish() concatenate to exactly decode(all ids). The tokenizer must outlive
// the stream decoder.
class StreamDecoder {
 public:
  StreamDecoder(const Tokenizer &tokenizer, bool skip_special_tokens = false);
  StreamDecoder(StreamDecoder &&) noexcept;
  ~StreamDecoder();

  std::string push(int32_t id);
  // Flushes what was held back; the decoder then starts a new text.
  std::string finish();

 private:
  void restart();
  const Tokenizer *tokenizer_;
  bool skip_special_;
  std::unique_ptr<std::string> out_;  // on the heap: the pipeline points at it
  std::unique_ptr<class DecodeStage> pipeline_;
};

}  // namespace gptq::tokenizer
