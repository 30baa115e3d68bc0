// KvCache: the keys (after RoPE) and values of the positions a model has
// already seen, per layer, so generation runs each new token through the
// blocks once. All sequences of a batch advance together (no padding); the
// capacity is fixed when the cache is made.
#pragma once

#include <cstdint>
#include <vector>

namespace gptq::model {

class KvCache {
 public:
  KvCache(std::int64_t layers, std::int64_t batch, std::int64_t kv_width, std::int64_t capacity);

  std::int64_t layers() const { return static_cast<std::int64_t>(layers_.size()); }
  std::int64_t batch() const { return batch_; }
  std::int64_t kv_width() const { return kv_width_; }
  std::int64_t capacity() const { return capacity_; }
  // Positions stored for `layer` (the position of the next token).
  std::int64_t length(std::int64_t layer) const;

  // Appends `seq` positions per sequence: k and v are [batch * seq, kv_width],
  // sequence-major. Throws Error(InvalidArgument) past the capacity.
  void append(std::int64_t layer, const float *k, const float *v, std::int64_t seq);

  // Sequence b's keys / values of `layer`: length(layer) rows of kv_width.
  const float *keys(std::int64_t layer, std::int64_t b) const;
  const float *values(std::int64_t layer, std::int64_t b) const;

  // Forgets every position (the memory is kept).
  void clear();

 private:
  struct Layer {
    std::vector<float> k, v;  // [batch][capacity][kv_width]
    std::int64_t length = 0;
  };
  const Layer &at(std::int64_t layer) const;

  std::int64_t batch_, kv_width_, capacity_;
  std::vector<Layer> layers_;
};

}  // namespace gptq::model
