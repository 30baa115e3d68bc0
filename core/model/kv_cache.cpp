#include "core/model/kv_cache.h"

#include <algorithm>
#include <string>

#include "core/base/error.h"
#include "core/model/sequence_counts.h"

namespace gptq::model {

KvCache::KvCache(std::int64_t layers, std::int64_t batch, std::int64_t kv_width, std::int64_t capacity)
    : batch_(batch), kv_width_(kv_width), capacity_(capacity) {
  if (layers <= 0 || batch <= 0 || kv_width <= 0 || capacity <= 0)
    fail(Status::InvalidArgument, "KV cache sizes must be positive (layers " + std::to_string(layers) +
                                      ", batch " + std::to_string(batch) + ", width " +
                                      std::to_string(kv_width) + ", capacity " + std::to_string(capacity) + ")");
  layers_.resize(static_cast<std::size_t>(layers));
  const auto n = static_cast<std::size_t>(batch * capacity * kv_width);
  for (Layer &l : layers_) {
    l.k.resize(n);
    l.v.resize(n);
    l.lengths.assign(static_cast<std::size_t>(batch), 0);
  }
}

const KvCache::Layer &KvCache::at(std::int64_t layer) const {
  if (layer < 0 || layer >= layers())
    fail(Status::InvalidArgument, "KV cache has no layer " + std::to_string(layer) + " (it has " +
                                      std::to_string(layers()) + ")");
  return layers_[static_cast<std::size_t>(layer)];
}

std::int64_t KvCache::length(std::int64_t layer, std::int64_t b) const {
  if (b < 0 || b >= batch_)
    fail(Status::InvalidArgument, "KV cache has no sequence " + std::to_string(b) + " (it has " +
                                      std::to_string(batch_) + ")");
  return at(layer).lengths[static_cast<std::size_t>(b)];
}

std::span<const std::int64_t> KvCache::lengths(std::int64_t layer) const { return at(layer).lengths; }

void KvCache::append(std::int64_t layer, const float *k, const float *v, std::int64_t seq,
                     std::span<const std::int64_t> counts) {
  Layer &l = const_cast<Layer &>(at(layer));
  const std::vector<std::int64_t> grow = sequence_counts(counts, batch_, seq);
  for (std::int64_t b = 0; b < batch_; ++b) {
    const std::int64_t length = l.lengths[static_cast<std::size_t>(b)];
    if (length + seq > capacity_)
      fail(Status::InvalidArgument, "KV cache of layer " + std::to_string(layer) + " holds " +
                                        std::to_string(capacity_) + " positions; sequence " + std::to_string(b) +
                                        "'s " + std::to_string(length) + " + " + std::to_string(seq) +
                                        " do not fit");
  }
  for (std::int64_t b = 0; b < batch_; ++b) {
    const auto i = static_cast<std::size_t>(b);
    const std::int64_t src = b * seq * kv_width_;
    const std::int64_t dst = (b * capacity_ + l.lengths[i]) * kv_width_;
    std::copy_n(k + src, seq * kv_width_, l.k.begin() + dst);
    std::copy_n(v + src, seq * kv_width_, l.v.begin() + dst);
    l.lengths[i] += grow[i];
  }
}

const float *KvCache::keys(std::int64_t layer, std::int64_t b) const {
  return at(layer).k.data() + b * capacity_ * kv_width_;
}

const float *KvCache::values(std::int64_t layer, std::int64_t b) const {
  return at(layer).v.data() + b * capacity_ * kv_width_;
}

void KvCache::clear() {
  for (Layer &l : layers_) std::fill(l.lengths.begin(), l.lengths.end(), 0);
}

}  // namespace gptq::model
