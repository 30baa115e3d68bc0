#include "cuda/runtime/decode_attention.h"

#include <cmath>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/kernels/chained_launch.h"
#include "cuda/plugin_error.h"
#include "cuda/runtime/flash_attention.h"

namespace gptq::cuda {
namespace {

constexpr int kWarps = 4;    // warps of a block
constexpr int kChunk = 32;   // keys a warp scores at a time: one per lane
constexpr int kMaxGroup = 8;  // query heads per KV head
// Split until about this many blocks run, as flash_attention.cu does: the
// same on every device, so that results do not depend on it.
constexpr std::int64_t kTargetBlocks = 1024;

struct DecodeParams {
  AttentionArgs a;
  float scale_log2;  // 1/sqrt(head_dim) * log2(e): softmax in base 2
  std::int64_t splits;
  float *o_part;    // [splits][batch * heads][head_dim], split outputs normalized
  float *lse_part;  // [splits][batch * heads], log2 of each split's sum (-inf: no key)
};

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// The lane's head_dim / 32 values of a value row (dims lane * D / 32 on):
// one 8-byte load for 128, one 4-byte load for 64.
template <int D>
__device__ __forceinline__ void lane_values(const __half *row, float (&v)[D / 32]) {
  if constexpr (D == 128) {
    const uint2 u = *reinterpret_cast<const uint2 *>(row);
    const float2 a = __half22float2(*reinterpret_cast<const __half2 *>(&u.x));
    const float2 b = __half22float2(*reinterpret_cast<const __half2 *>(&u.y));
    v[0] = a.x;
    v[1] = a.y;
    v[2] = b.x;
    v[3] = b.y;
  } else {
    const float2 a = __half22float2(*reinterpret_cast<const __half2 *>(row));
    v[0] = a.x;
    v[1] = a.y;
  }
}

// Block (split, KV head g, sequence b): G >= the group's query heads (the
// rest compute on zeros and are not written).
template <int D, int G>
__global__ void __launch_bounds__(kWarps * 32) decode_kernel(DecodeParams p) {
  constexpr int kDims = D / 32;  // output dims per lane
  __shared__ float sq[G][D];
  __shared__ float sm[kWarps][G], sl[kWarps][G];
  __shared__ float so[kWarps][G][D];
  allow_next_kernel();
  wait_for_previous_kernel();  // launched chained: q and the cache come from the kernels before
  const AttentionArgs &a = p.a;
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const std::int64_t split = blockIdx.x, g = blockIdx.y, b = blockIdx.z;
  const int group = static_cast<int>(a.heads / a.kv_heads);
  // The new row's position; its keys lo .. pos in chunks of 32, cut into
  // splits of `per` chunks (at least one per warp) by the rule decode_plan
  // sizes the launch with.
  const std::int64_t pos = a.past_at ? a.past_at[b] : a.past;
  const std::int64_t lo = a.window > 0 && pos - a.window + 1 > 0 ? pos - a.window + 1 : 0;
  const std::int64_t chunks = (pos - lo + kChunk) / kChunk;
  std::int64_t per = (chunks + p.splits - 1) / p.splits;
  if (per < kWarps) per = kWarps;
  const std::int64_t c_begin = split * per, c_end = c_begin + per < chunks ? c_begin + per : chunks;

  const __half *qrow = a.q + (b * a.heads + g * group) * D;
  for (int i = static_cast<int>(threadIdx.x); i < G * D; i += kWarps * 32) {
    const int h = i / D;
    sq[h][i % D] = h < group ? __half2float(qrow[i]) * p.scale_log2 : 0.0f;
  }
  __syncthreads();
  const std::int64_t kv_at = (b * a.kv_heads + g) * a.capacity * D;
  const __half *keys = a.k_cache + kv_at, *values = a.v_cache + kv_at;

  float m[G], l[G], o[G][kDims];
#pragma unroll
  for (int h = 0; h < G; ++h) {
    m[h] = -INFINITY;
    l[h] = 0.0f;
#pragma unroll
    for (int j = 0; j < kDims; ++j) o[h][j] = 0.0f;
  }
  for (std::int64_t c = c_begin + warp; c < c_end; c += kWarps) {
    const std::int64_t first = lo + c * kChunk, key = first + lane;
    const bool valid = key <= pos;
    // The lane's key against every query head of the group.
    float s[G];
#pragma unroll
    for (int h = 0; h < G; ++h) s[h] = 0.0f;
    if (valid) {
      const uint4 *kr = reinterpret_cast<const uint4 *>(keys + key * D);
#pragma unroll
      for (int j = 0; j < D / 8; ++j) {
        const uint4 k8 = __ldg(kr + j);
        const __half2 *k2 = reinterpret_cast<const __half2 *>(&k8);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float2 f = __half22float2(k2[e]);
#pragma unroll
          for (int h = 0; h < G; ++h) {
            s[h] = fmaf(sq[h][8 * j + 2 * e], f.x, s[h]);
            s[h] = fmaf(sq[h][8 * j + 2 * e + 1], f.y, s[h]);
          }
        }
      }
    }
    // Online softmax over the chunk (its first key is always valid, so the
    // new max is finite).
    float pr[G];
#pragma unroll
    for (int h = 0; h < G; ++h) {
      const float sh = valid ? s[h] : -INFINITY;
      const float m_new = fmaxf(m[h], warp_max(sh));
      const float corr = exp2f(m[h] - m_new);
      pr[h] = valid ? exp2f(sh - m_new) : 0.0f;
      l[h] = l[h] * corr + warp_sum(pr[h]);
      m[h] = m_new;
#pragma unroll
      for (int j = 0; j < kDims; ++j) o[h][j] *= corr;
    }
    // P V: key t's probability from lane t, its value row read by the warp.
    const __half *vrow = values + first * D + lane * kDims;
    auto step = [&](int t) {
      float v[kDims];
      lane_values<D>(vrow + static_cast<std::int64_t>(t) * D, v);
#pragma unroll
      for (int h = 0; h < G; ++h) {
        const float ph = __shfl_sync(0xffffffffu, pr[h], t);
#pragma unroll
        for (int j = 0; j < kDims; ++j) o[h][j] = fmaf(ph, v[j], o[h][j]);
      }
    };
    const std::int64_t left = pos - first + 1;
    if (left >= kChunk) {
#pragma unroll 8
      for (int t = 0; t < kChunk; ++t) step(t);
    } else {
      for (int t = 0; t < static_cast<int>(left); ++t) step(t);
    }
  }

  // The warps' partial results, combined in warp order.
  if (lane == 0)
#pragma unroll
    for (int h = 0; h < G; ++h) {
      sm[warp][h] = m[h];
      sl[warp][h] = l[h];
    }
#pragma unroll
  for (int h = 0; h < G; ++h)
#pragma unroll
    for (int j = 0; j < kDims; ++j) so[warp][h][lane * kDims + j] = o[h][j];
  __syncthreads();
  const std::int64_t rows = a.batch * a.heads;
  for (int i = static_cast<int>(threadIdx.x); i < group * D; i += kWarps * 32) {
    const int h = i / D, d = i % D;
    float mx = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, sm[w][h]);
    const std::int64_t r = b * a.heads + g * group + h;
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
      const float scale = exp2f(sm[w][h] - mx);
      sum += sl[w][h] * scale;
      acc += so[w][h][d] * scale;
    }
    if (p.splits == 1) {
      a.out[r * D + d] = __float2half_rn(acc / sum);
    } else {
      p.o_part[(split * rows + r) * D + d] = acc / sum;
      if (d == 0) p.lse_part[split * rows + r] = mx + log2f(sum);
    }
  }
}

template <int D, int G>
void launch(const DecodeParams &p, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(p.splits), static_cast<unsigned>(p.a.kv_heads),
                  static_cast<unsigned>(p.a.batch));
  launch_chained(decode_kernel<D, G>, grid, dim3(kWarps * 32), 0, stream, p);
}

template <int D>
void launch_group(const DecodeParams &p, cudaStream_t stream) {
  const std::int64_t group = p.a.heads / p.a.kv_heads;
  if (group <= 1)
    launch<D, 1>(p, stream);
  else if (group <= 2)
    launch<D, 2>(p, stream);
  else if (group <= 4)
    launch<D, 4>(p, stream);
  else
    launch<D, 8>(p, stream);
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

}  // namespace

bool decode_supports(const AttentionArgs &a) {
  return a.seq == 1 && (a.head_dim == 64 || a.head_dim == 128) && a.kv_heads > 0 && a.heads % a.kv_heads == 0 &&
         a.heads / a.kv_heads <= kMaxGroup;
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
  const std::int64_t rows = a.batch * a.heads;
  p.o_part = static_cast<float *>(a.workspace);
  p.lse_part = plan.splits > 1 ? p.o_part + plan.splits * rows * a.head_dim : nullptr;
  if (a.head_dim == 64)
    launch_group<64>(p, stream);
  else
    launch_group<128>(p, stream);
  if (plan.splits > 1) merge_attention_splits(p.o_part, p.lse_part, plan.splits, rows, a.head_dim, a.out, stream);
}

}  // namespace gptq::cuda
