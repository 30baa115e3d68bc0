// KvCache: the keys (after RoPE) and values of the positions a model has
// already seen, per layer, so generation runs each new token through the
// blocks once. Each sequence of the batch holds its own length (batched
// generation: prompts of different lengths, sequences that stopped); the
// capacity is fixed when the cache is made.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace gptq::model {

class KvCache {
 public:
  KvCache(std::int64_t layers, std::int64_t batch, std::int64_t kv_width, std::int64_t capacity);

  std::int64_t layers() const { return static_cast<std::int64_t>(layers_.size()); }
  std::int64_t batch() const { return batch_; }
  std::int64_t kv_width() const { return kv_width_; }
  std::int64_t capacity() const { return capacity_; }
  // Positions sequence b holds in `layer` (the position of its next token).
  std::int64_t length(std::int64_t layer, std::int64_t b) const;
  // Every sequence's length in `layer` ([batch]).
  std::span<const std::int64_t> lengths(std::int64_t layer) const;

  // Stores `seq` rows per sequence after what it holds: k and v are
  // [batch * seq, kv_width], sequence-major; sequence b's length grows by
  // counts[b] (a ragged run, core/model/sequence_counts.h: its rows past that
  // are padding, stored where the next append overwrites them), by seq when
  // counts is empty. Throws Error(InvalidArgument) when length + seq passes
  // the capacity.
  void append(std::int64_t layer, const float *k, const float *v, std::int64_t seq,
              std::span<const std::int64_t> counts = {});

  // Sequence b's keys / values of `layer`: rows of kv_width, up to the capacity.
  const float *keys(std::int64_t layer, std::int64_t b) const;
  const float *values(std::int64_t layer, std::int64_t b) const;

  // Forgets every position (the memory is kept).
  void clear();

 private:
  struct Layer {
    std::vector<float> k, v;  // [batch][capacity][kv_width]
    std::vector<std::int64_t> lengths;  // [batch]
  };
  const Layer &at(std::int64_t layer) const;

  std::int64_t batch_, kv_width_, capacity_;
  std::vector<Layer> layers_;
};

}  // namespace gptq::model
