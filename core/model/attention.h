// Causal multi-head attention with grouped KV heads (GQA: query head h reads
// KV head h / (heads / kv_heads)) and an optional sliding window (Mistral: a
// query at position p sees keys at positions > p - window), in fp32:
// softmax(q k^T / sqrt(head_dim) + mask) v, with the two products in OpenBLAS.
// The (sequence, head) pairs of a call are the tasks on the Compute's pool,
// each head's products one BLAS call on its thread (OpenBLAS is held at one
// thread): a head's result is the same whichever thread runs it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "core/cpu/compute.h"

namespace gptq::model {

struct AttentionShape {
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
  std::optional<std::int64_t> sliding_window;
};

// One sequence: q [seq, heads * head_dim]; k, v [kv_len, kv_heads * head_dim],
// the first kv_len - seq rows being earlier positions (a KV cache) and the
// last seq rows those of q; out [seq, heads * head_dim].
struct AttentionSequence {
  const float *q = nullptr;
  const float *k = nullptr;
  const float *v = nullptr;
  std::int64_t kv_len = 0;
  float *out = nullptr;
};

// Every sequence has `seq` query rows; their outputs do not overlap.
void causal_attention(const Compute &compute, const AttentionShape &shape,
                      std::span<const AttentionSequence> sequences, std::int64_t seq);

// One sequence.
void causal_attention(const Compute &compute, const AttentionShape &shape, const float *q, std::int64_t seq,
                      const float *k, const float *v, std::int64_t kv_len, float *out);

}  // namespace gptq::model
