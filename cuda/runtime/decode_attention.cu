#include "cuda/runtime/decode_attention.h"

#include <cmath>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/env_switch.h"
#include "cuda/kernels/chained_launch.h"
#include "cuda/kernels/gptq_device.cuh"
#include "cuda/plugin_error.h"
#include "cuda/runtime/flash_attention.h"
#include "cuda/runtime/rope.cuh"

namespace gptq::cuda {
namespace {

constexpr int kWarps = 4;    // warps of a block
constexpr int kBlocksPerSm = 4;  // the kernel's launch bounds: 128 registers
constexpr int kChunk = 32;   // keys a warp scores at a time: one per lane
// Split until about this many blocks run, as flash_attention.cu does: the
// same on every device, so that results do not depend on it. 512 is one
// wave of kBlocksPerSm blocks on 128 SMs or more (H100/H200: 132), so a
// step's blocks also load their first chunk early (early_loads). With 1024,
// batch 1 of 32 heads past 2048 positions ran 17 splits, 544 blocks
// (just past one wave, no early loads): measured on the H200, the 7B step
// after 2048 tokens took 2.166 / 2.172 / 2.183 ms with 1024 and 2.107 /
// 2.108 / 2.136 with 512; at batch 16 after 128 tokens (512 blocks, no
// split now, no merge) 2.79-2.85 -> 2.65 ms.
constexpr std::int64_t kTargetBlocks = 512;

struct DecodeParams {
  AttentionArgs a;
  float scale_log2;  // 1/sqrt(head_dim) * log2(e): softmax in base 2
  std::int64_t splits;
  float *o_part;    // [splits][batch * heads][head_dim], split outputs normalized
  float *lse_part;  // [splits][batch * heads], log2 of each split's sum (-inf: no key)
  bool early;       // the warp's first chunk of older keys loaded before the wait (early_loads)
};

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// With the new rows given: q's row rotated into sq (scaled as the kernel
// scores), and when has_new the new key rotated into sk and stored with the
// new value into the cache row (k_row, v_row); each rounded to fp16 as
// rope_and_store_kv would have stored it.
template <int D>
__device__ __forceinline__ void rotate_new_rows(const __half *qrow, const __half *new_k, const __half *new_v,
                                                const float *inv_freq, std::int64_t pos, float scale_log2,
                                                bool has_new, __half *k_row, __half *v_row, float *sq, __half *sk) {
  constexpr int kHalf = D / 2;
  for (int i = static_cast<int>(threadIdx.x); i < kHalf; i += kWarps * 32) {
    auto rotated = [&](const __half *x) {
      const float x1 = __half2float(x[i]), x2 = __half2float(x[i + kHalf]);
      return inv_freq ? rope_rotate(x1, x2, pos, inv_freq[i]) : make_float2(x1, x2);
    };
    const float2 qr = rotated(qrow);
    sq[i] = __half2float(__float2half_rn(qr.x)) * scale_log2;
    sq[i + kHalf] = __half2float(__float2half_rn(qr.y)) * scale_log2;
    if (has_new) {
      const float2 kr = rotated(new_k);
      sk[i] = k_row[i] = __float2half_rn(kr.x);
      sk[i + kHalf] = k_row[i + kHalf] = __float2half_rn(kr.y);
    }
  }
  if (has_new && threadIdx.x < D / 8)
    reinterpret_cast<uint4 *>(v_row)[threadIdx.x] = reinterpret_cast<const uint4 *>(new_v)[threadIdx.x];
}

// Block (split, head g, sequence b) of multi-head attention (a KV head per
// query head). A warp's chunk of 32 keys: its value rows go to shared memory
// (cp.async) while each lane reads and scores its key, so that P V waits on
// neither load.
//
// Only the new row (position pos) of the cache comes from the kernels of
// this step; the older rows were written before the step's first kernel
// (by an earlier step or a prefill, ahead of the step's input copy on the
// stream; positions come from that copy too). So the warp's first chunk of
// older keys and values is loaded before the wait on the kernel before, its
// latency under that kernel's tail, and only the new row after it.
//
// With the new rows given (a.new_k, AttentionArgs) the block rotates q
// itself, and the block whose keys end at pos rotates the new key into
// shared memory, scores it from there, reads the new value from new_v and
// stores both into the cache: no other block reads that row, and the
// kernels after this one see the stores once they have waited on it.
template <int D, bool kFresh>
__global__ void __launch_bounds__(kWarps * 32, kBlocksPerSm) decode_kernel(DecodeParams p) {
  constexpr int kDims = D / 32;           // output dims per lane
  constexpr int kRowChunks = D / 8;       // 16-byte pieces of a key or value row
  __shared__ float sq[D];
  __shared__ float sm[kWarps], sl[kWarps];
  __shared__ float so[kWarps][D];
  __shared__ __align__(16) __half sv[kWarps][kChunk][D];
  __shared__ __align__(16) __half sk[D];  // the new key, rotated (with a.new_k)
  allow_next_kernel();
  const AttentionArgs &a = p.a;
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const std::int64_t split = blockIdx.x, g = blockIdx.y, b = blockIdx.z;
  // The new row's position; its keys lo .. pos in chunks of 32, cut into
  // splits of `per` chunks (at least one per warp) by the rule decode_plan
  // sizes the launch with.
  const std::int64_t pos = a.past_at ? a.past_at[b] : a.past;
  const std::int64_t lo = a.window > 0 && pos - a.window + 1 > 0 ? pos - a.window + 1 : 0;
  const std::int64_t chunks = (pos - lo + kChunk) / kChunk;
  std::int64_t per = (chunks + p.splits - 1) / p.splits;
  if (per < kWarps) per = kWarps;
  const std::int64_t c_begin = split * per, c_end = c_begin + per < chunks ? c_begin + per : chunks;

  const std::int64_t kv_at = (b * a.kv_heads + g) * a.capacity * D;
  const __half *keys = a.k_cache + kv_at, *values = a.v_cache + kv_at;
  // The new row's value: from the cache, or as the v projection left it.
  const __half *new_value = kFresh ? a.new_v + (b * a.kv_heads + g) * D : values + pos * D;
  // Chunk c's value rows to shared memory by cp.async, the new one's
  // (position pos) only when with_new (rows past pos: zeros). The test is
  // written out per build: the one form for both (new_value is the cache's
  // row without kFresh) spilled 8 more bytes in the cache-only build.
  auto stage_values = [&](std::int64_t c, bool with_new) {
    const std::int64_t first = lo + c * kChunk, left = pos - first + 1;
#pragma unroll
    for (int i = 0; i < kRowChunks; ++i) {
      const int idx = i * 32 + lane, t = idx / kRowChunks, piece = idx % kRowChunks;
      if (!kFresh ? with_new || first + t != pos : first + t != pos)
        kernels::cp_async16(&sv[warp][t][piece * 8], values + (first + t) * D + piece * 8, t < left);
      else if (kFresh && with_new)  // the new row's value from new_v
        kernels::cp_async16(&sv[warp][t][piece * 8], new_value + piece * 8, true);
    }
    kernels::cp_async_commit();
  };
  const std::int64_t c_first = c_begin + warp;
  if (p.early && c_first < c_end) {
    stage_values(c_first, false);
    // The lane's key row on its way to L1 (registers would hold 64 words).
    const std::int64_t key = lo + c_first * kChunk + lane;
    if (key < pos)
#pragma unroll
      for (int j = 0; j < D * 2; j += 128) kernels::prefetch_l1(reinterpret_cast<const char *>(keys + key * D) + j);
  }
  wait_for_previous_kernel();  // launched chained: q and the new row come from the kernels before

  const __half *qrow = a.q + (b * a.heads + g) * D;
  // Whether this block's keys end at the new row's (the last chunk).
  const bool has_new = c_begin < chunks && chunks <= c_end;
  if constexpr (kFresh) {
    rotate_new_rows<D>(qrow, a.new_k + (b * a.kv_heads + g) * D, new_value, a.inv_freq, pos, p.scale_log2, has_new,
                       a.k_cache + kv_at + pos * D, a.v_cache + kv_at + pos * D, sq, sk);
  } else {
    for (int d = static_cast<int>(threadIdx.x); d < D; d += kWarps * 32) sq[d] = __half2float(qrow[d]) * p.scale_log2;
  }
  __syncthreads();

  float m = -INFINITY, l = 0.0f, o[kDims];
#pragma unroll
  for (int j = 0; j < kDims; ++j) o[j] = 0.0f;
  for (std::int64_t c = c_first; c < c_end; c += kWarps) {
    const std::int64_t first = lo + c * kChunk, key = first + lane;
    const std::int64_t left = pos - first + 1;  // keys of the chunk at or before pos
    const bool valid = key <= pos;
    __syncwarp();  // the previous chunk's value rows are read
    if (p.early && c == c_first) {  // the older rows are on their way: the new row's value
      if (pos - first < kChunk && lane < kRowChunks)
        kernels::cp_async16(&sv[warp][pos - first][lane * 8], new_value + lane * 8, true);
      kernels::cp_async_commit();
    } else {
      stage_values(c, true);
    }
    // The lane's score; the new key from shared memory when this block
    // rotated it (two loops, not a choice per load, which spilled).
    auto dot = [&](auto load) {
      float s = 0.0f;
#pragma unroll
      for (int j = 0; j < kRowChunks; ++j) {
        const uint4 k8 = load(j);
        const __half2 *k2 = reinterpret_cast<const __half2 *>(&k8);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float2 f = __half22float2(k2[e]);
          s = fmaf(sq[8 * j + 2 * e], f.x, s);
          s = fmaf(sq[8 * j + 2 * e + 1], f.y, s);
        }
      }
      return s;
    };
    float s = 0.0f;
    if (kFresh && key == pos)
      s = dot([&](int j) { return reinterpret_cast<const uint4 *>(sk)[j]; });
    else if (valid)
      s = dot([&](int j) { return __ldg(reinterpret_cast<const uint4 *>(keys + key * D) + j); });
    // Online softmax over the chunk (its first key is always valid, so the
    // new max is finite).
    const float sh = valid ? s : -INFINITY;
    const float m_new = fmaxf(m, warp_max(sh));
    const float corr = exp2f(m - m_new);
    const float pr = valid ? exp2f(sh - m_new) : 0.0f;
    l = l * corr + warp_sum(pr);
    m = m_new;
#pragma unroll
    for (int j = 0; j < kDims; ++j) o[j] *= corr;
    kernels::cp_async_wait_all();
    __syncwarp();
    // P V: key t's probability from lane t, its value row from shared memory.
    auto step = [&](int t) {
      const float pt = __shfl_sync(0xffffffffu, pr, t);
      const __half *vr = &sv[warp][t][lane * kDims];
#pragma unroll
      for (int j = 0; j < kDims; j += 2) {
        const float2 v = __half22float2(*reinterpret_cast<const __half2 *>(vr + j));
        o[j] = fmaf(pt, v.x, o[j]);
        o[j + 1] = fmaf(pt, v.y, o[j + 1]);
      }
    };
    if (left >= kChunk) {
#pragma unroll 8
      for (int t = 0; t < kChunk; ++t) step(t);
    } else {
      for (int t = 0; t < static_cast<int>(left); ++t) step(t);
    }
  }

  // The warps' partial results, combined in warp order.
  if (lane == 0) {
    sm[warp] = m;
    sl[warp] = l;
  }
#pragma unroll
  for (int j = 0; j < kDims; ++j) so[warp][lane * kDims + j] = o[j];
  __syncthreads();
  const std::int64_t rows = a.batch * a.heads, r = b * a.heads + g;
  for (int d = static_cast<int>(threadIdx.x); d < D; d += kWarps * 32) {
    float mx = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, sm[w]);
    if (mx == -INFINITY) {  // a split past the keys (never the only one)
      if (p.splits > 1) {
        p.o_part[(split * rows + r) * D + d] = 0.0f;
        if (d == 0) p.lse_part[split * rows + r] = -INFINITY;
      }
      continue;
    }
    float sum = 0.0f, acc = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float scale = exp2f(sm[w] - mx);
      sum += sl[w] * scale;
      acc += so[w][d] * scale;
    }
    if (p.splits == 1) {
      a.out[r * D + d] = __float2half_rn(acc / sum);
    } else {
      p.o_part[(split * rows + r) * D + d] = acc / sum;
      if (d == 0) p.lse_part[split * rows + r] = mx + log2f(sum);
    }
  }
}

template <int D>
void launch(const DecodeParams &p, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(p.splits), static_cast<unsigned>(p.a.kv_heads),
                  static_cast<unsigned>(p.a.batch));
  launch_chained(p.a.new_k ? decode_kernel<D, true> : decode_kernel<D, false>, grid, dim3(kWarps * 32), 0, stream, p);
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Whether the blocks load their first chunk before waiting on the kernel
// before: only when they all fit in one wave. Then each block's loads run
// under that kernel's tail; blocks of later waves start after it anyway,
// and the first wave's early loads compete with its last loads. Measured on
// H200 (cuda_attention_bench, 32 heads of 128, a graph of chained calls;
// us without -> with): batch 1 at 128 positions (64 blocks) 5.3 -> 4.9;
// batch 1 at 2048 (544 blocks) 15.7 -> 16.9, batch 64 at 128 (2048
// blocks) 48.3 -> 55.2. The 7B decode step at batch 1 after 128 tokens:
// 2.10-2.13 -> 2.06-2.08 ms.
bool early_loads(std::int64_t blocks) {
  if (switched_off("GPTQ_ATTN_EARLY_LOADS")) return false;
  int device = 0, sms = 0;
  GPTQ_CUDA_CHECK(cudaGetDevice(&device));
  GPTQ_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return blocks <= static_cast<std::int64_t>(sms) * kBlocksPerSm;
}

}  // namespace

bool decode_supports(const AttentionArgs &a) {
  return a.seq == 1 && (a.head_dim == 64 || a.head_dim == 128) && a.heads == a.kv_heads;
}

DecodePlan decode_plan(const AttentionArgs &a) {
  DecodePlan plan;
  std::int64_t keys = a.past + 1;
  if (a.window > 0 && a.window < keys) keys = a.window;
  const std::int64_t chunks = ceil_div(keys, kChunk), blocks = a.kv_heads * a.batch;
  const std::int64_t want = blocks >= kTargetBlocks ? 1 : ceil_div(kTargetBlocks, blocks);
  const std::int64_t most = ceil_div(chunks, kWarps);  // splits of at least one chunk per warp
  plan.splits = want < most ? want : most;
  if (plan.splits > 1)
    plan.workspace_bytes = static_cast<std::size_t>(plan.splits * a.batch * a.heads) *
                           static_cast<std::size_t>(a.head_dim + 1) * sizeof(float);
  return plan;
}

void decode_attention(const AttentionArgs &a, cudaStream_t stream) {
  const DecodePlan plan = decode_plan(a);
  if (a.batch > 65535 || a.kv_heads > 65535 || plan.splits > 0x7fffffff)
    throw InvalidArgument("attention: batch " + std::to_string(a.batch) + " x " + std::to_string(a.kv_heads) +
                          " KV heads x " + std::to_string(plan.splits) + " splits is more blocks than one launch takes");
  if (plan.splits > 1 && a.workspace == nullptr)
    throw InvalidArgument("attention: this shape splits its keys and needs " + std::to_string(plan.workspace_bytes) +
                          " bytes of workspace (attention_workspace_bytes); none was given");
  DecodeParams p;
  p.a = a;
  p.scale_log2 = static_cast<float>(1.4426950408889634 / std::sqrt(static_cast<double>(a.head_dim)));
  p.splits = plan.splits;
  p.early = early_loads(plan.splits * a.kv_heads * a.batch);
  const std::int64_t rows = a.batch * a.heads;
  p.o_part = static_cast<float *>(a.workspace);
  p.lse_part = plan.splits > 1 ? p.o_part + plan.splits * rows * a.head_dim : nullptr;
  if (a.head_dim == 64)
    launch<64>(p, stream);
  else
    launch<128>(p, stream);
  if (plan.splits > 1) merge_attention_splits(p.o_part, p.lse_part, plan.splits, rows, a.head_dim, a.out, stream);
}

}  // namespace gptq::cuda
