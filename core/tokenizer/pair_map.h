// Open-addressing hash map from a token pair (left id, right id) to the merge that
// joins them: its rank (lower merges first) and the id of the merged token. BPE looks
// pairs up in its inner loop, so this avoids std::unordered_map's node chasing.
#pragma once

#include <cstdint>
#include <vector>

namespace gptq::tokenizer {

struct Merge {
  int32_t rank;
  int32_t merged_id;
};

class PairMap {
 public:
  void reserve(std::size_t n) {
    std::size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    slots_.assign(cap, Slot{kEmpty, {0, 0}});
    mask_ = cap - 1;
    size_ = 0;
  }

  // Later insertions of the same pair win, as in HF (its merge map is built by
  // collecting the merges list into a hash map).
  void insert_or_assign(int32_t left, int32_t right, Merge m) {
    if (slots_.empty() || 2 * (size_ + 1) > slots_.size()) grow();
    const uint64_t key = make_key(left, right);
    for (std::size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty) {
        slots_[i] = Slot{key, m};
        ++size_;
        return;
      }
      if (slots_[i].key == key) {
        slots_[i].value = m;
        return;
      }
    }
  }

  const Merge *find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = make_key(left, right);
    for (std::size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }

  std::size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key;
    Merge value;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are non-negative, so never a key

  static uint64_t make_key(int32_t l, int32_t r) {
    return (uint64_t(uint32_t(l)) << 32) | uint32_t(r);
  }
  static std::size_t hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return static_cast<std::size_t>(k);
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    reserve(old.empty() ? 8 : old.size());
    for (const auto &s : old)
      if (s.key != kEmpty) insert_or_assign(int32_t(s.key >> 32), int32_t(s.key & 0xffffffffu), s.value);
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace gptq::tokenizer
