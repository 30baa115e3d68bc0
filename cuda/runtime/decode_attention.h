// The attention of a decode step (one new row per sequence) behind
// causal_attention (attention.h) for multi-head attention (a KV head per
// query head) of head_dim 64 or 128. The tensor-core kernel
// (flash_attention.h) would fill 1 of its 16 mma rows with the query and
// walk its keys one tile at a time on one warp; here the keys of each
// (sequence, head) are scored on the CUDA cores, one key per lane, by the 4
// warps of a block in chunks of 32 keys, each chunk's value rows copied to
// shared memory while its keys are scored; the scores never leave the
// registers (online softmax in base 2, fp32) and each lane accumulates
// head_dim / 32 output dimensions. The warps' partial results are combined
// in warp order. (With grouped KV heads the tensor-core kernel reads each
// key once for the whole group and stays faster: measured on the H200,
// 32/8 heads at 2048 positions, 11.4 us against 14.7 for this kernel
// scoring the group on the CUDA cores.)
//
// Split-KV: when sequences x heads give few blocks, each one's chunks are
// cut into splits of at least 4 chunks (one per warp), written as fp32
// partial outputs with their log-sum-exp and merged in split order
// (flash_attention.h's merge, the same workspace layout). The number of
// splits comes from past (with past_at: its bound), the chunks per split
// from the actual positions and that number, in the kernel, so that a
// captured step cuts its keys as a launched one does: the same bits.
//
// Given the step's new rows before RoPE (AttentionArgs::new_k), each block
// rotates q itself and the block holding the last chunk rotates the new key,
// scores it from shared memory and stores it and the new value into the
// cache: rope_and_store_kv's kernel leaves the decode step.
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

// seq 1, head_dim 64 or 128, as many KV heads as query heads.
bool decode_supports(const AttentionArgs &a);
DecodePlan decode_plan(const AttentionArgs &a);
void decode_attention(const AttentionArgs &a, cudaStream_t stream);

}  // namespace gptq::cuda
