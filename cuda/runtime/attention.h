// Causal attention with grouped KV heads over a layer's KV cache: the
// queries of `seq` new rows per sequence (positions past .. past + seq - 1)
// against the cached keys and values up to their own position (a sliding
// window when window > 0). One kernel for prefill and decode, online softmax
// in fp32 (a block per query row and head, the keys in tiles), so no score
// matrix is materialized; a flash-style tiled prefill is the next step.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace gptq::cuda {

struct AttentionArgs {
  const __half *q = nullptr;        // [batch * seq][heads * head_dim]
  const __half *k_cache = nullptr;  // [batch][kv_heads][capacity][head_dim]
  const __half *v_cache = nullptr;
  __half *out = nullptr;            // [batch * seq][heads * head_dim]
  // past: the position of each sequence's first row; the launch's shape
  // follows it. With past_at (device memory) the kernels read the position
  // there instead and past is the largest it will be: a decode step captured
  // in a CUDA graph replays as the cache grows.
  std::int64_t batch = 0, seq = 0, past = 0, capacity = 0;
  const std::int64_t *past_at = nullptr;
  std::int64_t heads = 0, kv_heads = 0, head_dim = 0;
  std::int64_t window = 0;  // > 0: keys at positions > p - window
};

// head_dim up to 512 (InvalidArgument otherwise, checked at model_begin).
void causal_attention(const AttentionArgs &a, cudaStream_t stream);

constexpr std::int64_t kMaxHeadDim = 512;

}  // namespace gptq::cuda
