// The BPE model of tokenizer.json ("model": {"type": "BPE", ...}).
//
// Encodes one pre-tokenized word at a time, exactly as HF's BPE::merge_word does:
// one symbol per character (byte_fallback turns an unknown character into its
// <0xNN> byte tokens; otherwise unknown characters become unk, fused when fuse_unk),
// then repeatedly merge the adjacent pair with the lowest merge rank, leftmost first.
// ignore_merges returns a word that is itself in the vocabulary as one token.
//
// Speed: merges live in an open-addressing pair map; single characters are looked up
// in flat tables; finished words go into a per-thread WordCache. encode_word is const
// and thread-safe (the cache and scratch buffers are thread-local).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/tokenizer/pair_map.h"
#include "core/tokenizer/token_index.h"

namespace gptq::tokenizer {

class JsonNode;
struct ScannedModelTables;

class BpeModel {
 public:
  // Reads the options from `model` and the vocabulary and merges ("a b" strings or
  // [a, b] pairs) from `tables`, which scan_model_tables read from the same file.
  BpeModel(const JsonNode &model, const ScannedModelTables &tables);

  // Appends the ids of `word` to `out`. With `byte_level`, `word` is raw bytes that
  // stand for their GPT-2 byte-to-unicode characters (see pre_tokenizer.h).
  void encode_word(std::string_view word, bool byte_level, std::vector<int32_t> &out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The vocabulary's token for `id`, or nullptr when the id is not in it.
  const std::string *id_to_token(int32_t id) const;
  // One past the largest id in the vocabulary.
  std::size_t id_limit() const { return tokens_.size(); }
  std::size_t size() const { return index_.size(); }

  // True when every token that holds the character `c` after its start holds it right
  // after another `c` (SentencePiece's "▁" in Llama-2/Mistral vocabularies: "▁the",
  // "▁▁▁▁", never "a▁b"), `c` is in the vocabulary and merges are not ignored. Then no
  // token spans a point between a character other than `c` and a `c`, so no merge joins
  // symbols across it, and encoding the pieces of a word cut at those points gives the
  // ids of the whole word: each piece merges exactly as it would inside the word.
  bool can_split_before(std::string_view c) const;

 private:
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  void encode_uncached(std::string_view word, bool byte_level, std::vector<int32_t> &out) const;
  void add_char(std::string_view ch, int32_t id, std::vector<Symbol> &syms,
                std::optional<int32_t> &pending_unk) const;
  void merge_all(std::vector<Symbol> &syms) const;
  template <class Queue>
  void merge_with(std::vector<Symbol> &syms, Queue &queue) const;

  TokenIndex index_;
  std::vector<std::string> tokens_;  // by id; "" with present_[id] false for gaps
  std::vector<bool> present_;
  PairMap merges_;
  std::vector<int32_t> merged_by_rank_;                 // the merged token of each rank's pair
  std::vector<std::pair<int32_t, int32_t>> pair_by_rank_;  // each rank's pair
  bool merged_ids_unique_ = true;  // no token is the result of two different pairs
  std::array<int32_t, 128> ascii_ids_{};
  std::unordered_map<uint32_t, int32_t> char_ids_;  // non-ASCII one-character tokens
  std::array<int32_t, 256> byte_level_ids_{};       // id of byte_to_unicode(b)
  std::array<int32_t, 256> fallback_ids_{};         // id of "<0xNN>"
  std::optional<int32_t> unk_id_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  uint64_t instance_ = 0;  // tells apart the thread-local caches of different models
};

}  // namespace gptq::tokenizer
