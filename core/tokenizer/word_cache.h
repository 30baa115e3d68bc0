// Cache from a word (its bytes as the pre-tokenizer produced them) to its BPE ids.
// Running text repeats a small set of words, so after warm-up almost every word is
// one hash and one memcmp. Keys and ids live in two arenas: no allocation per entry.
// Not thread-safe: each thread owns its caches (see bpe_model.cpp).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace gptq::tokenizer {

class WordCache {
 public:
  // Stops accepting new words beyond these bounds, so memory stays bounded on
  // adversarial input; lookups keep working.
  static constexpr std::size_t kMaxEntries = 1 << 18;
  static constexpr std::size_t kMaxKeyBytes = 256;

  static uint64_t hash(std::string_view s) {
    // FNV-1a on 8-byte words, then a final mix: fast on short keys.
    uint64_t h = 0xcbf29ce484222325ull ^ s.size();
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0x100000001b3ull;
      h ^= h >> 29;
    }
    uint64_t tail = 0;
    if (i < s.size()) std::memcpy(&tail, s.data() + i, s.size() - i);
    h = (h ^ tail) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
  }

  bool find(std::string_view key, uint64_t h, std::span<const int32_t> *ids) const {
    if (slots_.empty()) return false;
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot &s = slots_[i];
      if (s.key_len == kEmpty) return false;
      if (s.hash == h && s.key_len == key.size() &&
          std::memcmp(keys_.data() + s.key_off, key.data(), key.size()) == 0) {
        *ids = std::span<const int32_t>(ids_.data() + s.ids_off, s.ids_len);
        return true;
      }
    }
  }

  void insert(std::string_view key, uint64_t h, std::span<const int32_t> ids) {
    if (key.size() > kMaxKeyBytes || count_ >= kMaxEntries) return;
    if (2 * (count_ + 1) > slots_.size()) grow();
    Slot s{h, uint32_t(keys_.size()), uint32_t(key.size()), uint32_t(ids_.size()),
           uint32_t(ids.size())};
    keys_.insert(keys_.end(), key.begin(), key.end());
    ids_.insert(ids_.end(), ids.begin(), ids.end());
    place(s);
    ++count_;
  }

  std::size_t size() const { return count_; }

 private:
  static constexpr uint32_t kEmpty = ~uint32_t{0};
  struct Slot {
    uint64_t hash;
    uint32_t key_off;
    uint32_t key_len;  // kEmpty marks a free slot
    uint32_t ids_off;
    uint32_t ids_len;
  };

  void place(const Slot &s) {
    for (std::size_t i = s.hash & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key_len == kEmpty) {
        slots_[i] = s;
        return;
      }
    }
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    std::size_t cap = old.empty() ? 1024 : old.size() * 2;
    slots_.assign(cap, Slot{0, 0, kEmpty, 0, 0});
    mask_ = cap - 1;
    for (const auto &s : old)
      if (s.key_len != kEmpty) place(s);
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
  std::vector<char> keys_;
  std::vector<int32_t> ids_;
};

}  // namespace gptq::tokenizer
