// Token string -> id, for a vocabulary of up to a few hundred thousand tokens.
//
// Open addressing over one arena of key bytes: one allocation for all keys instead of a
// node and a string per token (std::unordered_map), which made loading a 128k-token
// vocabulary and resolving its 280k merges the bulk of a tokenizer's load time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/word_cache.h"

namespace gptq::tokenizer {

class TokenIndex {
 public:
  void reserve(std::size_t n, std::size_t key_bytes) {
    keys_.reserve(n);
    arena_.reserve(key_bytes);
    rehash(capacity_for(n));
  }

  // A key seen again takes the new id (a JSON object's later duplicate wins, as in HF).
  void insert_or_assign(std::string_view key, int32_t id) {
    if (2 * (keys_.size() + 1) > slots_.size()) rehash(capacity_for(keys_.size() + 1));
    const uint64_t h = WordCache::hash(key);
    std::size_t i = h & mask_;
    for (; slots_[i] != 0; i = (i + 1) & mask_) {
      Key &k = keys_[slots_[i] - 1];
      if (k.hash == h && view(k) == key) {
        k.id = id;
        return;
      }
    }
    keys_.push_back({h, uint32_t(arena_.size()), uint32_t(key.size()), id});
    arena_.append(key);
    slots_[i] = uint32_t(keys_.size());
  }

  std::optional<int32_t> find(std::string_view key) const {
    if (slots_.empty()) return std::nullopt;
    const uint64_t h = WordCache::hash(key);
    for (std::size_t i = h & mask_; slots_[i] != 0; i = (i + 1) & mask_) {
      const Key &k = keys_[slots_[i] - 1];
      if (k.hash == h && view(k) == key) return k.id;
    }
    return std::nullopt;
  }
  bool contains(std::string_view key) const { return find(key).has_value(); }

  std::size_t size() const { return keys_.size(); }
  // Visits every (key, id) in insertion order.
  template <class F>
  void for_each(F &&f) const {
    for (const Key &k : keys_) f(view(k), k.id);
  }

 private:
  struct Key {
    uint64_t hash;
    uint32_t off;
    uint32_t len;
    int32_t id;
  };
  std::string_view view(const Key &k) const { return std::string_view(arena_).substr(k.off, k.len); }
  static std::size_t capacity_for(std::size_t n) {
    std::size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    return cap;
  }
  void rehash(std::size_t cap) {
    if (cap <= slots_.size()) return;
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    for (std::size_t k = 0; k < keys_.size(); ++k) {
      std::size_t i = keys_[k].hash & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = uint32_t(k + 1);
    }
  }

  std::vector<Key> keys_;
  std::string arena_;
  std::vector<uint32_t> slots_;  // index + 1 into keys_; 0 is empty
  std::size_t mask_ = 0;
};

}  // namespace gptq::tokenizer
