// The attention of a decode step (one new row per sequence) behind
// causal_attention (attention.h), for head_dim 64 and 128 and up to 8 query
// heads per KV head. The tensor-core kernel (flash_attention.h) would fill
// 1 to 8 of its 16 mma rows with these queries and walk its keys one tile
// at a time on one warp; here the keys of each (sequence, KV head) are
// scored on the CUDA cores, one key per lane, against every query head of
// the group at once (each key is read once), by the 4 warps of a block, in
// chunks of 32 keys; the scores never leave the registers (online softmax
// in base 2, fp32) and the probabilities weight the value rows, each lane
// owning head_dim / 32 output dimensions. The warps' partial results are
// combined in warp order.
//
// Split-KV: when sequences x KV heads give few blocks, each one's chunks are
// cut into splits of at least 4 chunks (one per warp), written as fp32
// partial outputs with their log-sum-exp and merged in split order
// (flash_attention.h's merge, the same workspace layout). The number of
// splits comes from past (with past_at: its bound), the chunks per split
// from the actual positions and that number, in the kernel, so that a
// captured step cuts its keys as a launched one does: the same bits.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "cuda/runtime/attention.h"

namespace gptq::cuda {

struct DecodePlan {
  std::int64_t splits = 1;
  std::size_t workspace_bytes = 0;
};

// seq 1, head_dim 64 or 128, at most 8 query heads per KV head.
bool decode_supports(const AttentionArgs &a);
DecodePlan decode_plan(const AttentionArgs &a);
void decode_attention(const AttentionArgs &a, cudaStream_t stream);

}  // namespace gptq::cuda
