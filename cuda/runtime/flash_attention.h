// The tiled tensor-core attention behind causal_attention (attention.h) for
// head_dim 64 and 128, flash-attention style: a block takes up to 64 query
// rows (16 per warp) of one KV head's group and walks that group's keys in
// tiles of 64 through a two-stage cp.async pipeline in shared memory; the
// scores S = Q K^T and the product P V are mma.sync m16n8k16 (fp16 in, fp32
// accumulate; sm_80 and later), the online softmax stays in fp32 registers.
// The query heads of a KV group are packed into the rows (row = query i,
// head h of the group), so GQA/MQA reads each key once per block.
//
// Split-KV (flash-decoding): when rows x KV heads x batch gives few blocks
// (decode), each block's key range is cut into `splits` parts of whole
// tiles, each written as an fp32 partial output with its log-sum-exp to the
// workspace, and a second kernel merges them in split order. The number of
// splits comes from past (with past_at: its bound), the tiles per split
// from the actual positions (each sequence's), in the kernel.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "cuda/runtime/attention.h"

namespace gptq::cuda {

// How a shape is cut: warps per block (16 query rows each), the blocks'
// row tiles, the number of splits of each block's keys and (at most) the
// key tiles of one split.
struct FlashPlan {
  int warps = 0;
  std::int64_t row_tiles = 0, splits = 1, tiles_per_split = 0;
  std::size_t workspace_bytes = 0;
};

bool flash_supports(std::int64_t head_dim);
FlashPlan flash_plan(const AttentionArgs &a);
void flash_attention(const AttentionArgs &a, cudaStream_t stream);

// out[r][:] from the splits' fp32 partial outputs o_part[split][rows][head_dim]
// (each normalized) and their log2 sums lse_part[split][rows] (-inf: a split
// without keys), added in split order; every row must have a key somewhere.
void merge_attention_splits(const float *o_part, const float *lse_part, std::int64_t splits, std::int64_t rows,
                            std::int64_t head_dim, __half *out, cudaStream_t stream);

}  // namespace gptq::cuda
