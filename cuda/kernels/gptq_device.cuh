// Device helpers shared by the GEMV and GEMM kernels: the tensor-core
// product, the in-register dequantization of one lane's k-tile words and the
// lane's activation words. gptq_repack.h describes the layout they assume.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/kernels/gptq_kernels.h"

namespace gptq::cuda::kernels {

// d += a * b over one m16n8k16 tile, fp16 in, fp32 accumulate (sm_80+).
__device__ __forceinline__ void mma_16816(float (&d)[4], std::uint32_t a0, std::uint32_t a1,
                                          std::uint32_t a2, std::uint32_t a3, std::uint32_t b0,
                                          std::uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// (a & mask) | bits in one instruction.
__device__ __forceinline__ std::uint32_t and_or(std::uint32_t a, std::uint32_t mask,
                                                std::uint32_t bits) {
  std::uint32_t r;
  asm("lop3.b32 %0, %1, %2, %3, 0xea;\n" : "=r"(r) : "r"(a), "r"(mask), "r"(bits));
  return r;
}

__device__ __forceinline__ std::uint32_t as_u32(__half2 h) {
  return *reinterpret_cast<std::uint32_t *>(&h);
}
__device__ __forceinline__ __half2 as_h2(std::uint32_t u) {
  return *reinterpret_cast<__half2 *>(&u);
}

// Weights are read once: stream them past L1 and let L2 evict them first.
__device__ __forceinline__ uint4 load_stream(const uint4 *p) { return __ldcs(p); }

// The per-(row g, row g+8) constants of one lane's group: the scale, and the
// zero as 1024 + z (subtracted from a code or-ed into 0x6400) and -(64 + z)
// (added to a high nibble scaled by 1/16). Both are exact in fp16.
struct GroupConst {
  __half2 scale;
  __half2 zero_lo;
  __half2 zero_hi;
};

template <int BITS>
__device__ __forceinline__ GroupConst make_group_const(__half2 scale, const __half2 *zero) {
  GroupConst c;
  c.scale = scale;
  const __half2 z = zero ? *zero : __float2half2_rn(static_cast<float>(1 << (BITS - 1)));
  c.zero_lo = __hadd2(z, __float2half2_rn(1024.0f));
  c.zero_hi = __hsub2(__float2half2_rn(-64.0f), z);
  return c;
}

// From device memory: a dependent load (chunk -> group -> scale); the
// fallback when the block's constants do not fit in shared memory.
template <int BITS>
__device__ __forceinline__ GroupConst group_const(const PackedWeights &w, int n_tile, int group,
                                                  int g) {
  const int at = (n_tile * w.groups + group) * 8 + g;
  return make_group_const<BITS>(w.scales[at], w.zeros ? w.zeros + at : nullptr);
}

// The group constants a block needs, copied to shared memory at its start so
// that no k-tile waits on a chain of dependent global loads: the scales (and
// zeros) of the groups [g_lo, g_lo + ng) that k-tiles [k_begin, k_end) touch,
// for n-tiles [nt0, nt0 + ntiles), and the group of each 16 columns. Groups
// are contiguous and in order in the repacked K, so that range is all.
struct StagedConsts {
  const __half2 *scale = nullptr;  // [ntiles][ng][8]
  const __half2 *zero = nullptr;   // same, or null when symmetric
  const int *chunk = nullptr;      // [(k_end - k_begin) * 4]
  int g_lo = 0, ng = 0, k_begin = 0;
};

// Every thread of the block calls it; the caller syncs before reading.
__device__ __forceinline__ StagedConsts stage_consts(const PackedWeights &w, int nt0, int ntiles, int k_begin,
                                                     int k_end, void *smem) {
  StagedConsts c;
  if (k_begin >= k_end) return c;
  c.k_begin = k_begin;
  c.g_lo = w.chunk_group[k_begin * 4];
  c.ng = w.chunk_group[k_end * 4 - 1] - c.g_lo + 1;
  __half2 *scale = static_cast<__half2 *>(smem);
  __half2 *zero = w.zeros ? scale + ntiles * c.ng * 8 : nullptr;
  int *chunk = reinterpret_cast<int *>(scale + ntiles * c.ng * 8 * (w.zeros ? 2 : 1));
  const int per_tile = c.ng * 8;
  for (int i = threadIdx.x; i < ntiles * per_tile; i += blockDim.x) {
    const int j = i / per_tile, nt = nt0 + j;
    if (nt >= w.n_tiles) {
      scale[i] = __float2half2_rn(0.0f);
      if (zero) zero[i] = __float2half2_rn(0.0f);
      continue;
    }
    const int at = (nt * w.groups + c.g_lo) * 8 + (i - j * per_tile);
    scale[i] = w.scales[at];
    if (zero) zero[i] = w.zeros[at];
  }
  for (int i = threadIdx.x; i < (k_end - k_begin) * 4; i += blockDim.x) chunk[i] = w.chunk_group[k_begin * 4 + i];
  c.scale = scale;
  c.zero = zero;
  c.chunk = chunk;
  return c;
}

template <int BITS>
__device__ __forceinline__ GroupConst staged_const(const StagedConsts &c, int j, int kt, int t, int g) {
  const int at = (j * c.ng + c.chunk[(kt - c.k_begin) * 4 + t] - c.g_lo) * 8 + g;
  return make_group_const<BITS>(c.scale[at], c.zero ? c.zero + at : nullptr);
}

// The B fragments of one lane for one k-tile: b[s][nb][r] = the two fp16
// weights of register r of n8 block nb in k-step s.
template <int BITS>
__device__ __forceinline__ void dequant_tile(const uint4 (&q)[BITS / 4], const GroupConst &c,
                                             std::uint32_t (&b)[4][2][2]) {
  const __half2 s_lo = __low2half2(c.scale), s_hi = __high2half2(c.scale);
  const __half2 zl_lo = __low2half2(c.zero_lo), zl_hi = __high2half2(c.zero_lo);
  if constexpr (BITS == 4) {
    const __half2 zh_lo = __low2half2(c.zero_hi), zh_hi = __high2half2(c.zero_hi);
    const __half2 sixteenth = __float2half2_rn(1.0f / 16.0f);
    const std::uint32_t words[4] = {q[0].x, q[0].y, q[0].z, q[0].w};
#pragma unroll
    for (int s = 0; s < 4; ++s) {
      const std::uint32_t w0 = words[s], w1 = words[s] >> 8;
      b[s][0][0] = as_u32(__hmul2(__hsub2(as_h2(and_or(w0, 0x000f000fu, 0x64006400u)), zl_lo), s_lo));
      b[s][0][1] = as_u32(
          __hmul2(__hfma2(as_h2(and_or(w0, 0x00f000f0u, 0x64006400u)), sixteenth, zh_lo), s_lo));
      b[s][1][0] = as_u32(__hmul2(__hsub2(as_h2(and_or(w1, 0x000f000fu, 0x64006400u)), zl_hi), s_hi));
      b[s][1][1] = as_u32(
          __hmul2(__hfma2(as_h2(and_or(w1, 0x00f000f0u, 0x64006400u)), sixteenth, zh_hi), s_hi));
    }
  } else {
    const std::uint32_t words[8] = {q[0].x, q[0].y, q[0].z, q[0].w, q[1].x, q[1].y, q[1].z, q[1].w};
#pragma unroll
    for (int s = 0; s < 4; ++s) {
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) {
        const std::uint32_t w = words[2 * s + nb];
        const __half2 zl = nb ? zl_hi : zl_lo, sc = nb ? s_hi : s_lo;
        b[s][nb][0] = as_u32(__hmul2(__hsub2(as_h2(__byte_perm(w, 0x64646464u, 0x5140u)), zl), sc));
        b[s][nb][1] = as_u32(__hmul2(__hsub2(as_h2(__byte_perm(w, 0x64646464u, 0x5342u)), zl), sc));
      }
    }
  }
}

// The 16 activations of one row that a lane's k-tile words pair with
// (columns 16t..16t+15 of the tile), as 8 words: word 2s and 2s+1 feed
// k-step s.
struct RowWords {
  std::uint32_t w[8];
};

__device__ __forceinline__ RowWords row_words(uint4 a, uint4 b) {
  return RowWords{{a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w}};
}

// acc0, acc1 (n8 blocks 0, 1) += rows (r, r + 8) of the activations times the lane's B fragments.
__device__ __forceinline__ void mma_tile(float (&acc0)[4], float (&acc1)[4], const RowWords &lo,
                                         const RowWords &hi, const std::uint32_t (&b)[4][2][2]) {
#pragma unroll
  for (int s = 0; s < 4; ++s) {
    mma_16816(acc0, lo.w[2 * s], hi.w[2 * s], lo.w[2 * s + 1], hi.w[2 * s + 1], b[s][0][0], b[s][0][1]);
    mma_16816(acc1, lo.w[2 * s], hi.w[2 * s], lo.w[2 * s + 1], hi.w[2 * s + 1], b[s][1][0], b[s][1][1]);
  }
}

// Writes one accumulator element: fp32 partial sum, or fp16 with the bias.
__device__ __forceinline__ void store_out(const PackedWeights &w, const Product &p, int split,
                                          int row, int col, float v) {
  if (row >= p.m || col >= w.n) return;
  if (p.partial) {
    p.partial[(static_cast<std::size_t>(split) * p.m + row) * w.n + col] = v;
  } else {
    if (w.bias) v += w.bias[col];
    p.y[static_cast<std::size_t>(row) * w.n + col] = __float2half_rn(v);
  }
}

}  // namespace gptq::cuda::kernels
