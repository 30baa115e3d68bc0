#include "cuda/runtime/attention.h"

#include <cfloat>
#include <cmath>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/env_switch.h"
#include "cuda/kernels/chained_launch.h"
#include "cuda/runtime/decode_attention.h"
#include "cuda/runtime/flash_attention.h"
#include "cuda/plugin_error.h"

namespace gptq::cuda {
namespace {

constexpr int kThreads = 128;                              // keys per tile
constexpr int kDimsPerThread = kMaxHeadDim / kThreads;     // output dims a thread accumulates

__device__ float block_reduce(float v, float *scratch, bool is_max) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = is_max ? fmaxf(v, w) : v + w;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = scratch[0];
  for (int w = 1; w < kThreads / 32; ++w) v = is_max ? fmaxf(v, scratch[w]) : v + scratch[w];
  return v;
}

// Block (row r, head h): thread t scores key j0 + t of each tile, then the
// tile's probabilities weight the value rows, each thread owning dims
// t, t + 128, ... of the output.
__global__ void attention_kernel(AttentionArgs a, float scale) {
  __shared__ float q[kMaxHeadDim];
  __shared__ float p[kThreads];
  __shared__ float scratch[kThreads / 32];
  allow_next_kernel();
  wait_for_previous_kernel();  // launched chained: q and the cache come from the kernels before
  const std::int64_t r = blockIdx.x, h = blockIdx.y;
  const std::int64_t b = r / a.seq, pos = (a.past_at ? a.past_at[b] : a.past) + r % a.seq;
  const std::int64_t g = h / (a.heads / a.kv_heads), hd = a.head_dim;
  const __half *qr = a.q + (r * a.heads + h) * hd;
  for (std::int64_t d = threadIdx.x; d < hd; d += kThreads) q[d] = __half2float(qr[d]) * scale;
  const __half *keys = a.k_cache + (b * a.kv_heads + g) * a.capacity * hd;
  const __half *values = a.v_cache + (b * a.kv_heads + g) * a.capacity * hd;
  const std::int64_t lo = a.window > 0 && pos - a.window + 1 > 0 ? pos - a.window + 1 : 0;
  float m = -FLT_MAX, sum = 0.0f;
  float acc[kDimsPerThread];
  for (int i = 0; i < kDimsPerThread; ++i) acc[i] = 0.0f;
  __syncthreads();
  for (std::int64_t j0 = lo; j0 <= pos; j0 += kThreads) {
    const std::int64_t j = j0 + threadIdx.x;
    float s = -FLT_MAX;
    if (j <= pos) {
      const __half2 *kr = reinterpret_cast<const __half2 *>(keys + j * hd);
      float dot = 0.0f;
      for (std::int64_t d = 0; d < hd / 2; ++d) {
        const float2 kv = __half22float2(kr[d]);
        dot += q[2 * d] * kv.x + q[2 * d + 1] * kv.y;
      }
      s = dot;
    }
    const float m_new = fmaxf(m, block_reduce(s, scratch, true));
    const float e = j <= pos ? expf(s - m_new) : 0.0f;
    const float corr = expf(m - m_new);
    sum = sum * corr + block_reduce(e, scratch, false);
    m = m_new;
    p[threadIdx.x] = e;
    __syncthreads();
    const std::int64_t n = pos - j0 + 1 < kThreads ? pos - j0 + 1 : kThreads;
    for (int i = 0; i < kDimsPerThread; ++i) {
      const std::int64_t d = threadIdx.x + i * kThreads;
      if (d >= hd) break;
      float v = acc[i] * corr;
      for (std::int64_t t = 0; t < n; ++t) v += p[t] * __half2float(values[(j0 + t) * hd + d]);
      acc[i] = v;
    }
    __syncthreads();
  }
  __half *out = a.out + (r * a.heads + h) * hd;
  const float inv = 1.0f / sum;
  for (int i = 0; i < kDimsPerThread; ++i) {
    const std::int64_t d = threadIdx.x + i * kThreads;
    if (d < hd) out[d] = __float2half_rn(acc[i] * inv);
  }
}

}  // namespace

std::size_t attention_workspace_bytes(const AttentionArgs &a) {
  if (decode_supports(a)) return decode_plan(a).workspace_bytes;
  return flash_supports(a.head_dim) ? flash_plan(a).workspace_bytes : 0;
}

bool attention_takes_new_rows(const AttentionArgs &a) {
  return decode_supports(a) && !switched_off("GPTQ_ATTN_NEW_ROWS");
}

void causal_attention(const AttentionArgs &a, cudaStream_t stream) {
  if (a.heads <= 0 || a.kv_heads <= 0 || a.heads % a.kv_heads != 0 || a.head_dim <= 0 || a.head_dim % 2 != 0 ||
      a.head_dim > kMaxHeadDim || a.batch <= 0 || a.seq <= 0 || a.past < 0 || a.past + a.seq > a.capacity)
    throw InvalidArgument("attention: batch " + std::to_string(a.batch) + " seq " + std::to_string(a.seq) +
                          " past " + std::to_string(a.past) + " capacity " + std::to_string(a.capacity) + ", " +
                          std::to_string(a.heads) + " heads over " + std::to_string(a.kv_heads) +
                          " KV heads of head_dim " + std::to_string(a.head_dim) + " is not a shape it takes");
  if ((a.new_k == nullptr) != (a.new_v == nullptr) || (a.new_k && !decode_supports(a)))
    throw InvalidArgument("attention: the new rows before RoPE (new_k and new_v, both) are taken only by the decode "
                          "kernel (one new row, a KV head per query head, head_dim 64 or 128); this call has " +
                          std::to_string(a.seq) + " rows, " + std::to_string(a.heads) + "/" +
                          std::to_string(a.kv_heads) + " heads of " + std::to_string(a.head_dim));
  if (decode_supports(a))
    decode_attention(a, stream);
  else if (flash_supports(a.head_dim))
    flash_attention(a, stream);
  else
    generic_attention(a, stream);
}

void generic_attention(const AttentionArgs &a, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(a.batch * a.seq), static_cast<unsigned>(a.heads));
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(a.head_dim)));
  launch_chained(attention_kernel, grid, dim3(kThreads), 0, stream, a, scale);
}

}  // namespace gptq::cuda
