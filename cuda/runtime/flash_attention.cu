#include "cuda/runtime/flash_attention.h"

#include <cfloat>
#include <cmath>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/kernels/chained_launch.h"
#include "cuda/kernels/gptq_device.cuh"
#include "cuda/plugin_error.h"

namespace gptq::cuda {
namespace {

using kernels::cp_async16;
using kernels::cp_async_commit;
using kernels::mma_16816;

constexpr int kKeys = 64;  // keys per tile
// Split until about this many blocks run: a few waves of the largest GPUs'
// SMs (132 on an H200), the same on every device so that results do not
// depend on it.
constexpr std::int64_t kTargetBlocks = 1024;

struct FlashParams {
  AttentionArgs a;
  float scale_log2;  // 1/sqrt(head_dim) * log2(e): softmax in base 2
  std::int64_t splits, row_tiles;
  float *o_part;    // [splits][batch * seq * heads][head_dim], split outputs normalized
  float *lse_part;  // [splits][batch * seq * heads], log2 of each split's sum (-inf: no key)
};

__device__ __forceinline__ std::uint32_t pack_half2(float lo, float hi) {
  const __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const std::uint32_t *>(&h);
}
// Four 8 x 8 fp16 matrices from shared memory, lanes 8i .. 8i + 7 giving
// the addresses of matrix i's rows; each lane gets, of matrix i, in r[i]:
// (row lane / 4, cols 2 (lane % 4), +1), or with .trans (rows 2 (lane % 4),
// +1 of col lane / 4) -- a B fragment from rows that run along n (K) or
// along k (V).
__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], const __half *row) {
  const unsigned at = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(at));
}
__device__ __forceinline__ void ldmatrix_x4_trans(std::uint32_t (&r)[4], const __half *row) {
  const unsigned at = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(at));
}

// Fragment layouts of mma.m16n8k16 (PTX ISA), lane = 4 * gq + tig:
//  A (16 x 16, row): reg 0 (row gq, cols 2 tig, +1), 1 (row gq + 8), 2 (row
//    gq, cols + 8), 3 (row gq + 8, cols + 8);
//  B (16 x 8, col): reg 0 (rows 2 tig, +1 of col gq), 1 (rows + 8);
//  C (16 x 8): [0], [1] row gq, cols 2 tig, +1; [2], [3] row gq + 8.
// S = Q K^T takes B from K's rows (ldmatrix: 8 keys x 8 dims a matrix, two
// k-steps a load); P V takes A from S's accumulators (a C tile pair is an A
// tile) and B from V's rows (ldmatrix.trans: 8 keys x 8 dims a matrix, two
// n-tiles a load).
template <int D, int WARPS>
__global__ void __launch_bounds__(WARPS * 32) flash_kernel(FlashParams p) {
  allow_next_kernel();
  wait_for_previous_kernel();  // launched chained: q and the cache come from the kernels before
  constexpr int kRows = WARPS * 16, kThreads = WARPS * 32;
  constexpr int kLd = D + 8;  // halves per row in shared memory: 8 rows of a matrix hit 32 banks
  constexpr int kStage = 2 * kKeys * kLd;
  extern __shared__ uint4 smem_raw[];
  __half *smem = reinterpret_cast<__half *>(smem_raw);
  const AttentionArgs &a = p.a;
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int gq = lane >> 2, tig = lane & 3;
  const std::int64_t group = a.heads / a.kv_heads, pairs = a.seq * group;
  const std::int64_t g = blockIdx.y, b = blockIdx.z;
  // The position of this sequence's first row: in device memory when the
  // call was captured or the batch is ragged (a.past then only bounds it,
  // and sized the grid).
  const std::int64_t past = a.past_at ? a.past_at[b] : a.past;
  // Key tiles per split from the actual positions, the same rule as
  // flash_plan's: a captured step splits its keys as a launched one does
  // (its extra splits stay empty), so both give the same bits.
  std::int64_t keys = past + a.seq;
  if (a.window > 0 && a.window + a.seq < keys) keys = a.window + a.seq;
  const std::int64_t tiles_per_split = ((keys + kKeys - 1) / kKeys + p.splits - 1) / p.splits;
  const std::int64_t split = blockIdx.x % p.splits;
  const std::int64_t tile = p.row_tiles - 1 - blockIdx.x / p.splits;  // the longest rows first
  const std::int64_t p0 = tile * kRows, p1 = (pairs < p0 + kRows ? pairs : p0 + kRows) - 1;
  const std::int64_t pos_lo = past + p0 / group, pos_hi = past + p1 / group;
  const std::int64_t k_lo = a.window > 0 && pos_lo - a.window + 1 > 0 ? pos_lo - a.window + 1 : 0;
  const std::int64_t k_begin = k_lo + split * tiles_per_split * kKeys;
  const std::int64_t k_end_split = k_begin + tiles_per_split * kKeys;
  const std::int64_t k_end = pos_hi + 1 < k_end_split ? pos_hi + 1 : k_end_split;  // exclusive
  const std::int64_t n_tiles = k_end > k_begin ? (k_end - k_begin + kKeys - 1) / kKeys : 0;

  // This lane's two rows: gq and gq + 8 of the warp's 16.
  bool row_ok[2];
  std::int64_t row_pos[2], row_idx[2];  // position; index into [batch * seq][heads]
  for (int i = 0; i < 2; ++i) {
    const std::int64_t pr = p0 + warp * 16 + gq + 8 * i;
    row_ok[i] = pr < pairs;
    const std::int64_t qi = row_ok[i] ? pr / group : 0, h = g * group + (row_ok[i] ? pr % group : 0);
    row_pos[i] = past + qi;
    row_idx[i] = (b * a.seq + qi) * a.heads + h;
  }
  const bool warp_active = p0 + warp * 16 < pairs;

  std::uint32_t qa[D / 16][4];
  for (int ks = 0; ks < D / 16; ++ks)
    for (int r = 0; r < 4; ++r) {
      const int i = r & 1, hi = r >> 1;
      qa[ks][r] = row_ok[i] ? *reinterpret_cast<const std::uint32_t *>(a.q + row_idx[i] * D + ks * 16 + 8 * hi +
                                                                         2 * tig)
                            : 0u;
    }

  const std::int64_t head_base = (b * a.kv_heads + g) * a.capacity * D;
  const __half *k_src = a.k_cache + head_base, *v_src = a.v_cache + head_base;
  auto load_tile = [&](int stage, std::int64_t j0) {
    __half *ks = smem + stage * kStage, *vs = ks + kKeys * kLd;
    for (int c = static_cast<int>(threadIdx.x); c < kKeys * (D / 8); c += kThreads) {
      const int r = c / (D / 8), col = (c % (D / 8)) * 8;
      const std::int64_t j = j0 + r;
      const bool valid = j < k_end;  // past the range: zeros (0 * garbage could be NaN)
      const std::int64_t at = (valid ? j : 0) * D + col;
      cp_async16(ks + r * kLd + col, k_src + at, valid);
      cp_async16(vs + r * kLd + col, v_src + at, valid);
    }
    cp_async_commit();
  };

  float m[2] = {-FLT_MAX, -FLT_MAX}, l[2] = {0.0f, 0.0f};  // running max (log2 units), lane's partial sum
  float acc[D / 8][4];
  for (int dt = 0; dt < D / 8; ++dt)
    for (int e = 0; e < 4; ++e) acc[dt][e] = 0.0f;

  if (n_tiles > 0) load_tile(0, k_begin);
  for (std::int64_t t = 0; t < n_tiles; ++t) {
    if (t + 1 < n_tiles) {
      load_tile(static_cast<int>((t + 1) & 1), k_begin + (t + 1) * kKeys);
      kernels::cp_async_wait_one();
    } else {
      kernels::cp_async_wait_all();
    }
    __syncthreads();
    if (warp_active) {
      const __half *ks = smem + (t & 1) * kStage, *vs = ks + kKeys * kLd;
      const std::int64_t j0 = k_begin + t * kKeys;
      float s[kKeys / 8][4];
      for (int nt = 0; nt < kKeys / 8; ++nt)
        for (int e = 0; e < 4; ++e) s[nt][e] = 0.0f;
#pragma unroll
      for (int k2 = 0; k2 < D / 32; ++k2)
#pragma unroll
        for (int nt = 0; nt < kKeys / 8; ++nt) {
          // Matrix i: keys nt * 8 .., dims 32 k2 + 8 i ..: b0, b1 of k-step 2 k2, then of 2 k2 + 1.
          std::uint32_t kb[4];
          ldmatrix_x4(kb, ks + (nt * 8 + (lane & 7)) * kLd + k2 * 32 + (lane >> 3) * 8);
          const std::uint32_t *q0 = qa[2 * k2], *q1 = qa[2 * k2 + 1];
          mma_16816(s[nt], q0[0], q0[1], q0[2], q0[3], kb[0], kb[1]);
          mma_16816(s[nt], q1[0], q1[1], q1[2], q1[3], kb[2], kb[3]);
        }
      float mx[2] = {m[0], m[1]};
#pragma unroll
      for (int nt = 0; nt < kKeys / 8; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int i = e >> 1;
          const std::int64_t j = j0 + nt * 8 + 2 * tig + (e & 1);
          const bool ok = j < k_end && j <= row_pos[i] && (a.window <= 0 || j > row_pos[i] - a.window);
          s[nt][e] = ok ? s[nt][e] * p.scale_log2 : -INFINITY;
          mx[i] = fmaxf(mx[i], s[nt][e]);
        }
      float corr[2];
      for (int i = 0; i < 2; ++i) {
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
        corr[i] = exp2f(m[i] - mx[i]);  // 1 while no key was seen (both -FLT_MAX)
        m[i] = mx[i];
        l[i] *= corr[i];
      }
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt)
        for (int e = 0; e < 4; ++e) acc[dt][e] *= corr[e >> 1];
#pragma unroll
      for (int nt = 0; nt < kKeys / 8; ++nt)
        for (int e = 0; e < 4; ++e) {
          s[nt][e] = exp2f(s[nt][e] - m[e >> 1]);  // masked: exp2(-inf) = 0
          l[e >> 1] += s[nt][e];
        }
#pragma unroll
      for (int kk = 0; kk < kKeys / 16; ++kk) {
        const std::uint32_t a0 = pack_half2(s[2 * kk][0], s[2 * kk][1]);
        const std::uint32_t a1 = pack_half2(s[2 * kk][2], s[2 * kk][3]);
        const std::uint32_t a2 = pack_half2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
        const std::uint32_t a3 = pack_half2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
        for (int d2 = 0; d2 < D / 16; ++d2) {
          // Matrix i: keys 16 kk + 8 (i & 1) .., dims 16 d2 + 8 (i >> 1) ..: b0, b1 of n-tile 2 d2, then 2 d2 + 1.
          std::uint32_t vb[4];
          ldmatrix_x4_trans(vb, vs + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * kLd + d2 * 16 + (lane >> 4) * 8);
          mma_16816(acc[2 * d2], a0, a1, a2, a3, vb[0], vb[1]);
          mma_16816(acc[2 * d2 + 1], a0, a1, a2, a3, vb[2], vb[3]);
        }
      }
    }
    __syncthreads();  // the next iteration's load overwrites this stage
  }

  for (int i = 0; i < 2; ++i) {
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
  }
  if (!warp_active) return;
  for (int i = 0; i < 2; ++i) {
    if (!row_ok[i]) continue;
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    if (p.splits == 1) {
      __half2 *out = reinterpret_cast<__half2 *>(a.out + row_idx[i] * D + 2 * tig);
      for (int dt = 0; dt < D / 8; ++dt)
        out[dt * 4] = __floats2half2_rn(acc[dt][2 * i] * inv, acc[dt][2 * i + 1] * inv);
    } else {
      const std::int64_t at = split * a.batch * a.seq * a.heads + row_idx[i];
      float2 *out = reinterpret_cast<float2 *>(p.o_part + at * D + 2 * tig);
      for (int dt = 0; dt < D / 8; ++dt) out[dt * 4] = make_float2(acc[dt][2 * i] * inv, acc[dt][2 * i + 1] * inv);
      if (tig == 0) p.lse_part[at] = l[i] > 0.0f ? m[i] + log2f(l[i]) : -INFINITY;
    }
  }
}

// out[r][:] = sum_s 2^(lse_s - max) o_s / sum_s 2^(lse_s - max), splits in
// order (bit-stable). A block per (row, head); every row has a key in some
// split (its own position), so the max is finite.
//
// Up to kMax splits (kMax > 0: 2, 4, 8 or 16, the least that holds them) a
// thread issues its 2 x kMax loads together, predicated, and takes the max
// and the sums from registers after: one round trip to L2 (the partials are
// read once: __ldcg, not kept in L1). Walking the splits in two loops
// (kMax = 0, more than 16 splits) made a chain of them: ncu on the H200,
// 4.6 us for 32 rows x 16 splits, DRAM 1.3%, no eligible warp 92% of
// cycles. The same operations in the same order either way: the same bits.
// Measured against the loops (cuda_attention_bench, attention and merge in
// a graph of chained calls, H200): 32/32 heads of 128, batch 1, 2048
// positions (16 splits) 18.0 -> 16.2 us; 32/8 heads, 128 positions (2
// splits) 7.0 -> 6.3 at batch 1, 20.0 -> 19.1 at batch 64.
template <int kMax>
__global__ void merge_splits_kernel(const float *o_part, const float *lse_part, std::int64_t splits,
                                    std::int64_t rows, int head_dim, __half *out) {
  allow_next_kernel();
  wait_for_previous_kernel();  // launched chained: the partials come from the attention kernel
  const std::int64_t r = blockIdx.x;
  for (int d = static_cast<int>(threadIdx.x); d < head_dim; d += static_cast<int>(blockDim.x)) {
    float num = 0.0f, den = 0.0f;
    if constexpr (kMax > 0) {
      float l[kMax], o[kMax];
#pragma unroll
      for (int i = 0; i < kMax; ++i) {
        l[i] = i < splits ? __ldcg(lse_part + i * rows + r) : -INFINITY;
        o[i] = i < splits ? __ldcg(o_part + (i * rows + r) * head_dim + d) : 0.0f;
      }
      float mx = -INFINITY;
#pragma unroll
      for (int i = 0; i < kMax; ++i) mx = fmaxf(mx, l[i]);
#pragma unroll
      for (int i = 0; i < kMax; ++i)
        if (i < splits) {
          const float w = exp2f(l[i] - mx);
          num += w * o[i];
          den += w;
        }
    } else {
      float mx = -INFINITY;
      for (std::int64_t s = 0; s < splits; ++s) mx = fmaxf(mx, __ldcg(lse_part + s * rows + r));
      for (std::int64_t s = 0; s < splits; ++s) {
        const float w = exp2f(__ldcg(lse_part + s * rows + r) - mx);
        num += w * __ldcg(o_part + (s * rows + r) * head_dim + d);
        den += w;
      }
    }
    out[r * head_dim + d] = __float2half_rn(num / den);
  }
}

template <int D, int WARPS>
void launch(const FlashParams &p, const FlashPlan &plan, cudaStream_t stream) {
  // One stage when no block walks more than one tile (split decode): half
  // the shared memory, twice the blocks per SM.
  const int stages = plan.tiles_per_split == 1 ? 1 : 2;
  const int smem = stages * 2 * kKeys * (D + 8) * static_cast<int>(sizeof(__half));
  auto kernel = flash_kernel<D, WARPS>;
  // Above 48 KiB the limit must be raised for each kernel (per device: set
  // on every launch, no process-wide state).
  GPTQ_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const dim3 grid(static_cast<unsigned>(plan.row_tiles * plan.splits), static_cast<unsigned>(p.a.kv_heads),
                  static_cast<unsigned>(p.a.batch));
  launch_chained(kernel, grid, dim3(WARPS * 32), static_cast<std::size_t>(smem), stream, p);
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

}  // namespace

bool flash_supports(std::int64_t head_dim) { return head_dim == 64 || head_dim == 128; }

FlashPlan flash_plan(const AttentionArgs &a) {
  FlashPlan plan;
  const std::int64_t pairs = a.seq * (a.heads / a.kv_heads);
  plan.warps = pairs <= 16 ? 1 : 4;  // decode: one warp's 16 rows hold every query of the group
  plan.row_tiles = ceil_div(pairs, plan.warps * 16);
  // The most keys a block walks: every position, or a window plus the
  // block's own span of positions.
  std::int64_t keys = a.past + a.seq;
  if (a.window > 0 && a.window + a.seq < keys) keys = a.window + a.seq;
  const std::int64_t key_tiles = ceil_div(keys, kKeys);
  const std::int64_t blocks = plan.row_tiles * a.kv_heads * a.batch;
  const std::int64_t want = blocks >= kTargetBlocks ? 1 : ceil_div(kTargetBlocks, blocks);
  plan.splits = want < key_tiles ? want : key_tiles;
  plan.tiles_per_split = ceil_div(key_tiles, plan.splits);  // at most; the kernel takes it from the actual positions
  if (plan.splits > 1)
    plan.workspace_bytes = static_cast<std::size_t>(plan.splits * a.batch * a.seq * a.heads) *
                           static_cast<std::size_t>(a.head_dim + 1) * sizeof(float);
  return plan;
}

void flash_attention(const AttentionArgs &a, cudaStream_t stream) {
  const FlashPlan plan = flash_plan(a);
  if (a.batch > 65535 || a.kv_heads > 65535 || plan.row_tiles * plan.splits > 0x7fffffff)
    throw InvalidArgument("attention: batch " + std::to_string(a.batch) + " x " + std::to_string(a.kv_heads) +
                          " KV heads x " + std::to_string(plan.row_tiles * plan.splits) +
                          " row tiles is more blocks than one launch takes");
  if (plan.splits > 1 && a.workspace == nullptr)
    throw InvalidArgument("attention: this shape splits its keys and needs " +
                          std::to_string(plan.workspace_bytes) +
                          " bytes of workspace (attention_workspace_bytes); none was given");
  FlashParams p;
  p.a = a;
  p.scale_log2 = static_cast<float>(1.4426950408889634 / std::sqrt(static_cast<double>(a.head_dim)));
  p.splits = plan.splits;
  p.row_tiles = plan.row_tiles;
  const std::int64_t rows = a.batch * a.seq * a.heads;
  p.o_part = static_cast<float *>(a.workspace);
  p.lse_part = plan.splits > 1 ? p.o_part + plan.splits * rows * a.head_dim : nullptr;
  if (a.head_dim == 64)
    plan.warps == 1 ? launch<64, 1>(p, plan, stream) : launch<64, 4>(p, plan, stream);
  else
    plan.warps == 1 ? launch<128, 1>(p, plan, stream) : launch<128, 4>(p, plan, stream);
  if (plan.splits > 1) merge_attention_splits(p.o_part, p.lse_part, plan.splits, rows, a.head_dim, a.out, stream);
}

void merge_attention_splits(const float *o_part, const float *lse_part, std::int64_t splits, std::int64_t rows,
                            std::int64_t head_dim, __half *out, cudaStream_t stream) {
  auto kernel = splits <= 2   ? merge_splits_kernel<2>
                : splits <= 4  ? merge_splits_kernel<4>
                : splits <= 8  ? merge_splits_kernel<8>
                : splits <= 16 ? merge_splits_kernel<16>
                               : merge_splits_kernel<0>;
  launch_chained(kernel, dim3(static_cast<unsigned>(rows)), dim3(128), 0, stream, o_part, lse_part, splits, rows,
                 static_cast<int>(head_dim), out);
}

}  // namespace gptq::cuda
