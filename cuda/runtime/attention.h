// Causal attention with grouped KV heads over a layer's KV cache: the
// queries of `seq` new rows per sequence (positions past .. past + seq - 1,
// past each sequence's own with past_at)
// against the cached keys and values up to their own position (a sliding
// window when window > 0). Online softmax in fp32, so no score matrix is
// materialized. One entry point, causal_attention, chooses the kernel:
//  - one new row per sequence (decode), head_dim 64 or 128, a KV head per
//    query head: the decode kernel (decode_attention.h), keys split
//    across blocks and the partial results merged (flash-decoding) when
//    sequences x KV heads alone would leave the GPU idle, in `workspace`;
//    it may take the step's new rows before RoPE (new_k, new_v below);
//  - head_dim 64 or 128 otherwise: the tiled tensor-core kernel
//    (flash_attention.h), for prefill and the other decode shapes, split
//    the same way when it alone would leave the GPU idle;
//  - any other even head_dim up to 512: the generic kernel (a block per
//    query row and head, scalar FMAs, keys in tiles of 128).
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace gptq::cuda {

struct AttentionArgs {
  const __half *q = nullptr;  // [batch * seq][heads * head_dim]
  __half *k_cache = nullptr;  // [batch][kv_heads][capacity][head_dim]; written only with new_k
  __half *v_cache = nullptr;
  __half *out = nullptr;            // [batch * seq][heads * head_dim]
  // past: the position of each sequence's first row; the launch's shape
  // follows it. With past_at ([batch], device memory) the kernels read each
  // sequence's position there instead and past is the largest any will be:
  // a decode step captured in a CUDA graph replays as the cache grows, and
  // the sequences of a batch may hold different lengths.
  std::int64_t batch = 0, seq = 0, past = 0, capacity = 0;
  const std::int64_t *past_at = nullptr;
  std::int64_t heads = 0, kv_heads = 0, head_dim = 0;
  std::int64_t window = 0;  // > 0: keys at positions > p - window
  // attention_workspace_bytes(*this) bytes of device memory, 16-byte
  // aligned, that the call may overwrite (null when that is 0).
  void *workspace = nullptr;
  // The step's new rows as the projections left them, when the call takes
  // them (attention_takes_new_rows): q and new_k before RoPE (inv_freq
  // [head_dim / 2]; null: no rotation), new_k and new_v [batch][kv_heads *
  // head_dim]. The call then rotates q and the new key itself and stores
  // the new key and value at each sequence's position in the cache, which
  // rope_and_store_kv (kernels.h) would otherwise have done before it: one
  // kernel fewer in a decode step. Null: the cache holds the new rows and q
  // is rotated.
  const __half *new_k = nullptr, *new_v = nullptr;
  const float *inv_freq = nullptr;
};

// Bytes of workspace a call with this shape needs (q, k_cache, ... are not
// read): 0 for prefill of long sequences and for the generic kernel; for a
// split, the fp32 partial outputs of every (row, head) and split: under
// 2048 x 64 of them (68 MB at head_dim 128, a decode step of batch 1 at 2048
// positions of a 7B model 0.5 MB). The same shape always asks for the same
// bytes and splits the keys the same way (whatever the device), so results
// are bit-stable from run to run; with past_at, past (the bound) sizes the
// workspace and the number of splits, and the kernel cuts the actual keys as
// a call with past = past_at[b] would (the extra splits stay empty): a
// captured decode step gives the bits of a launched one.
std::size_t attention_workspace_bytes(const AttentionArgs &a);

// Whether causal_attention takes this shape's new rows (new_k, new_v) in
// place of rope_and_store_kv: the decode kernel's shapes (one new row, a KV
// head per query head, head_dim 64 or 128), unless GPTQ_ATTN_NEW_ROWS=0.
bool attention_takes_new_rows(const AttentionArgs &a);

// head_dim up to 512 (InvalidArgument otherwise, checked at model_begin).
// Only enqueues on `stream` (no allocation, no synchronization: capturable
// in a CUDA graph). InvalidArgument when the workspace is missing.
void causal_attention(const AttentionArgs &a, cudaStream_t stream);

// The old kernel for every shape, whatever head_dim: the generic path, kept
// callable so that benchmarks and tests compare the tiled kernels with it.
void generic_attention(const AttentionArgs &a, cudaStream_t stream);

constexpr std::int64_t kMaxHeadDim = 512;

}  // namespace gptq::cuda
