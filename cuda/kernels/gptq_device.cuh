// Device helpers shared by the GEMV and GEMM kernels: the tensor-core
// product, the in-register dequantization of one lane's k-tile words and the
// lane's activation words. gptq_repack.h describes the layout they assume.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/cuda_check.h"
#include "cuda/kernels/chained_launch.h"
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

// Launches kernel(w, p), chained (chained_launch.h) when p.pdl.
template <class Kernel>
void launch_pdl(Kernel kernel, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream,
                const PackedWeights &w, const Product &p) {
  launch_chained(p.pdl, kernel, grid, block, smem, stream, w, p);
}

// 16 bytes global -> shared without registers; zero-filled when !valid.
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem, bool valid) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  const int bytes = valid ? 16 : 0;  // 0: fill with zeros, read nothing
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(bytes));
}
// The 128-byte line at `gmem` on its way to L1, holding no register: a
// later load of it waits on L1 rather than on HBM.
__device__ __forceinline__ void prefetch_l1(const void *gmem) {
  asm volatile("prefetch.global.L1 [%0];\n" ::"l"(gmem));
}
// 4 bytes global -> shared (through L1); zero-filled when !valid.
__device__ __forceinline__ void cp_async4(void *smem, const void *gmem, bool valid) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(gmem), "r"(valid ? 4 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Until at most N of this thread's committed groups are in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}
__device__ __forceinline__ void cp_async_wait_one() { cp_async_wait<1>(); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::); }

// The per-(row g, row g+8) constants of one lane's group: the scale, and the
// zero as 1024 + z (subtracted from a code or-ed into 0x6400) and -(64 + z)
// (added to a high nibble scaled by 1/16). Both are exact in fp16.
struct GroupConst {
  __half2 scale;
  __half2 zero_lo;
  __half2 zero_hi;
};

// fp16 pairs as bit patterns: __float2half2_rn is inline assembly that the
// compiler does not fold, so constants built with it cost instructions in
// every k-tile.
constexpr std::uint32_t kH2_1024 = 0x64006400u;       // (1024, 1024)
constexpr std::uint32_t kH2_Minus64 = 0xd400d400u;    // (-64, -64)
constexpr std::uint32_t kH2_Sixteenth = 0x2c002c00u;  // (1/16, 1/16)

// `zero` is read only when has_zero (it is a value, not a pointer, so that
// no pointer that may be null reaches a load: the compiler then keeps a
// shared-memory address as one and loads with LDS, not a generic LD).
template <int BITS>
__device__ __forceinline__ GroupConst make_group_const(__half2 scale, bool has_zero, __half2 zero) {
  GroupConst c;
  c.scale = scale;
  if (has_zero) {
    c.zero_lo = __hadd2(zero, as_h2(kH2_1024));
    c.zero_hi = __hsub2(as_h2(kH2_Minus64), zero);
  } else if constexpr (BITS == 4) {  // zero 8: 1032 and -72
    c.zero_lo = as_h2(0x64086408u);
    c.zero_hi = as_h2(0xd480d480u);
  } else {  // zero 128: 1152 (zero_hi serves 4 bits only)
    c.zero_lo = as_h2(0x64806480u);
    c.zero_hi = as_h2(0u);
  }
  return c;
}

// The group constants a block needs, copied to shared memory at its start so
// that no k-tile waits on a chain of dependent global loads: the scales (and
// zeros) of the groups [g_lo, g_lo + ng) that k-tiles [k_begin, k_end) touch,
// for n-tiles [nt0, nt0 + ntiles), and the group of each 16 columns. Groups
// are contiguous and in order in the repacked K, so that range is all; the
// host splits K until it fits (gptq_linear.cpp).
// Every pointer is set from the shared-memory argument on every path (none
// is null), so that the loads from them are shared-memory loads.
struct StagedConsts {
  const __half2 *scale;  // [ntiles][ng][8]
  const __half2 *zero;   // same; read only when zeros
  const int *chunk;      // [(k_end - k_begin) * 4]
  int g_lo = 0, ng = 0, k_begin = 0;
  bool zeros = false;
};

// Every thread of the block calls it; the caller syncs before reading.
__device__ __forceinline__ StagedConsts stage_consts(const PackedWeights &w, int nt0, int ntiles, int k_begin,
                                                     int k_end, void *smem) {
  StagedConsts c;
  const bool empty = k_begin >= k_end;
  c.k_begin = k_begin;
  c.g_lo = empty ? 0 : w.chunk_group[k_begin * 4];
  c.ng = empty ? 0 : w.chunk_group[k_end * 4 - 1] - c.g_lo + 1;
  c.zeros = w.zeros != nullptr;
  __half2 *scale = static_cast<__half2 *>(smem);
  __half2 *zero = scale + ntiles * c.ng * 8;
  int *chunk = reinterpret_cast<int *>(scale + ntiles * c.ng * 8 * (c.zeros ? 2 : 1));
  c.scale = scale;
  c.zero = zero;
  c.chunk = chunk;
  const int per_tile = c.ng * 8;
  for (int i = threadIdx.x; i < ntiles * per_tile; i += blockDim.x) {
    const int j = i / per_tile, nt = nt0 + j;
    if (nt >= w.n_tiles) {
      scale[i] = as_h2(0u);
      if (c.zeros) zero[i] = as_h2(0u);
      continue;
    }
    const int at = (nt * w.groups + c.g_lo) * 8 + (i - j * per_tile);
    scale[i] = w.scales[at];
    if (c.zeros) zero[i] = w.zeros[at];
  }
  for (int i = threadIdx.x; i < (k_end - k_begin) * 4; i += blockDim.x) chunk[i] = w.chunk_group[k_begin * 4 + i];
  return c;
}

template <int BITS>
__device__ __forceinline__ GroupConst staged_const(const StagedConsts &c, int j, int kt, int t, int g) {
  const int at = (j * c.ng + c.chunk[(kt - c.k_begin) * 4 + t] - c.g_lo) * 8 + g;
  return make_group_const<BITS>(c.scale[at], c.zeros, c.zeros ? c.zero[at] : as_h2(0u));
}

// The fast path's constants (gemv_uniform, gptq_kernels.h): groups of
// 64 << shift columns, so k-tile kt lies in group kt >> shift. Per n-tile r
// of the block (nt0 + r * nt_stride, r < nn), group of the block's K range
// and g: the scale pair as floats (row g, row g + 8) and the four
// dequant4_codes constants (those of zero 8 when symmetric: one load either
// way, no branch per tile), computed once here instead of in every k-tile.
struct UniformConsts {
  const float2 *scale;  // [nn][ng][8]
  const uint4 *zero;    // [nn][ng][8] {zl_lo, zl_hi, zh_lo, zh_hi}
  int g_lo = 0, ng = 0;
};

// Every thread of the block calls it; the caller syncs before reading.
__device__ __forceinline__ UniformConsts stage_uniform_consts(const PackedWeights &w, int nt0, int nt_stride, int nn,
                                                              int k_begin, int k_end, void *smem) {
  UniformConsts c;
  const bool empty = k_begin >= k_end;
  c.g_lo = k_begin >> w.tile_group_shift;
  c.ng = empty ? 0 : ((k_end - 1) >> w.tile_group_shift) - c.g_lo + 1;
  float2 *scale = static_cast<float2 *>(smem);
  uint4 *zero = reinterpret_cast<uint4 *>(scale + nn * c.ng * 8);
  c.scale = scale;
  c.zero = zero;
  const int per_tile = c.ng * 8;
  for (int i = threadIdx.x; i < nn * per_tile; i += blockDim.x) {
    const int r = i / per_tile, nt = nt0 + r * nt_stride;
    const int at = (nt * w.groups + c.g_lo) * 8 + (i - r * per_tile);
    scale[i] = __half22float2(w.scales[at]);
    const GroupConst gc = make_group_const<4>(w.scales[at], w.zeros != nullptr, w.zeros ? w.zeros[at] : as_h2(0u));
    zero[i] = make_uint4(as_u32(__low2half2(gc.zero_lo)), as_u32(__high2half2(gc.zero_lo)),
                         as_u32(__low2half2(gc.zero_hi)), as_u32(__high2half2(gc.zero_hi)));
  }
  return c;
}

// The weights are the A operand of m16n8k16 (16 output columns x 16 k) and
// the activations the B operand (16 k x 8 rows of the batch): "swap AB".
// Then a lane's dequantized pairs land in A's register order and a lane's
// activation pairs are adjacent words of its 16-byte loads, so no register
// is moved to form an operand, and a batch of <= 8 rows costs one mma per
// k-step instead of a 16-row tile that is mostly zeros.
//
// a[s] = the A fragment of k-step s: {row g (k, k+1), row g+8 (k, k+1),
// row g (k+2, k+3), row g+8 (k+2, k+3)}, k = 16t + 4s of the tile.
// code - zero of one lane's 4-bit k-tile in A fragment order, exact in
// fp16: each argument is one fp16 constant in both halves (zl: 1024 + z for
// row g / g + 8, zh: -(64 + z)).
__device__ __forceinline__ void dequant4_codes(const uint4 &q, __half2 zl_lo, __half2 zl_hi, __half2 zh_lo,
                                               __half2 zh_hi, std::uint32_t (&a)[4][4]) {
  const __half2 sixteenth = as_h2(kH2_Sixteenth);
  const std::uint32_t words[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
  for (int s = 0; s < 4; ++s) {
    const std::uint32_t w0 = words[s], w1 = words[s] >> 8;
    a[s][0] = as_u32(__hsub2(as_h2(and_or(w0, 0x000f000fu, kH2_1024)), zl_lo));
    a[s][2] = as_u32(__hfma2(as_h2(and_or(w0, 0x00f000f0u, kH2_1024)), sixteenth, zh_lo));
    a[s][1] = as_u32(__hsub2(as_h2(and_or(w1, 0x000f000fu, kH2_1024)), zl_hi));
    a[s][3] = as_u32(__hfma2(as_h2(and_or(w1, 0x00f000f0u, kH2_1024)), sixteenth, zh_hi));
  }
}

template <int BITS>
__device__ __forceinline__ void dequant_tile(const uint4 (&q)[BITS / 4], const GroupConst &c,
                                             std::uint32_t (&a)[4][4]) {
  const __half2 s_lo = __low2half2(c.scale), s_hi = __high2half2(c.scale);
  const __half2 zl_lo = __low2half2(c.zero_lo), zl_hi = __high2half2(c.zero_lo);
  if constexpr (BITS == 4) {
    dequant4_codes(q[0], zl_lo, zl_hi, __low2half2(c.zero_hi), __high2half2(c.zero_hi), a);
#pragma unroll
    for (int s = 0; s < 4; ++s) {
      a[s][0] = as_u32(__hmul2(as_h2(a[s][0]), s_lo));
      a[s][2] = as_u32(__hmul2(as_h2(a[s][2]), s_lo));
      a[s][1] = as_u32(__hmul2(as_h2(a[s][1]), s_hi));
      a[s][3] = as_u32(__hmul2(as_h2(a[s][3]), s_hi));
    }
  } else {
    const std::uint32_t words[8] = {q[0].x, q[0].y, q[0].z, q[0].w, q[1].x, q[1].y, q[1].z, q[1].w};
#pragma unroll
    for (int s = 0; s < 4; ++s) {
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) {
        const std::uint32_t w = words[2 * s + nb];
        const __half2 zl = nb ? zl_hi : zl_lo, sc = nb ? s_hi : s_lo;
        a[s][nb] = as_u32(__hmul2(__hsub2(as_h2(__byte_perm(w, 0x64646464u, 0x5140u)), zl), sc));
        a[s][nb + 2] = as_u32(__hmul2(__hsub2(as_h2(__byte_perm(w, 0x64646464u, 0x5342u)), zl), sc));
      }
    }
  }
}

// One k-step: acc (16 columns x 8 batch rows) += the lane's A fragment of
// k-step s times the B fragment in its activation words (columns
// 16t..16t+15 of the tile as two 16-byte loads: words 2s, 2s+1 are k-step
// s's).
template <int S>
__device__ __forceinline__ void mma_step(float (&acc)[4], const std::uint32_t (&a)[4][4], uint4 x0, uint4 x1) {
  if constexpr (S == 0) mma_16816(acc, a[0][0], a[0][1], a[0][2], a[0][3], x0.x, x0.y);
  if constexpr (S == 1) mma_16816(acc, a[1][0], a[1][1], a[1][2], a[1][3], x0.z, x0.w);
  if constexpr (S == 2) mma_16816(acc, a[2][0], a[2][1], a[2][2], a[2][3], x1.x, x1.y);
  if constexpr (S == 3) mma_16816(acc, a[3][0], a[3][1], a[3][2], a[3][3], x1.z, x1.w);
}

// A whole k-tile into two accumulators (even and odd k-steps), so that
// consecutive mma do not wait on each other's result.
__device__ __forceinline__ void mma_tile(float (&even)[4], float (&odd)[4], const std::uint32_t (&a)[4][4],
                                         uint4 x0, uint4 x1) {
  mma_step<0>(even, a, x0, x1);
  mma_step<1>(odd, a, x0, x1);
  mma_step<2>(even, a, x0, x1);
  mma_step<3>(odd, a, x0, x1);
}

// d = a * b over one m16n8k16 tile (no accumulator in).
__device__ __forceinline__ void mma_16816_first(float (&d)[4], std::uint32_t a0, std::uint32_t a1, std::uint32_t a2,
                                                std::uint32_t a3, std::uint32_t b0, std::uint32_t b1) {
  const float z = 0.0f;
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%10,%10,%10,%10};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "f"(z));
}

// acc += s * (a whole k-tile's product): the tile's four k-steps from zero
// in one chain (the unrolled loop interleaves the chains of several tiles),
// then scaled in fp32 per output column (accumulator elements 0, 1: column
// g, scale s.x; 2, 3: g + 8).
__device__ __forceinline__ void mma_tile_scaled(float (&acc)[4], const std::uint32_t (&a)[4][4], uint4 x0, uint4 x1,
                                                float2 s) {
  float d[4];
  mma_16816_first(d, a[0][0], a[0][1], a[0][2], a[0][3], x0.x, x0.y);
  mma_16816(d, a[1][0], a[1][1], a[1][2], a[1][3], x0.z, x0.w);
  mma_16816(d, a[2][0], a[2][1], a[2][2], a[2][3], x1.x, x1.y);
  mma_16816(d, a[3][0], a[3][1], a[3][2], a[3][3], x1.z, x1.w);
  acc[0] = fmaf(d[0], s.x, acc[0]);
  acc[1] = fmaf(d[1], s.x, acc[1]);
  acc[2] = fmaf(d[2], s.y, acc[2]);
  acc[3] = fmaf(d[3], s.y, acc[3]);
}

// Where column `col` of row `row` goes (gptq_kernels.h's OutParts), or null
// for a column between parts. Selects, not an indexed array: the parts stay
// in the kernel's parameter space.
__device__ __forceinline__ __half *out_slot(const OutParts &out, int row, int col) {
  __half *y = out.y[0];
  int first = 0, cols = out.cols[0];
  if (out.count > 1 && col >= out.first[1]) {
    y = out.y[1];
    first = out.first[1];
    cols = out.cols[1];
  }
  if (out.count > 2 && col >= out.first[2]) {
    y = out.y[2];
    first = out.first[2];
    cols = out.cols[2];
  }
  const int c = col - first;
  return c < cols ? y + static_cast<std::size_t>(row) * cols + c : nullptr;
}

// Writes one accumulator element: fp32 partial sum, or fp16 with the bias.
__device__ __forceinline__ void store_out(const PackedWeights &w, const Product &p, int split,
                                          int row, int col, float v) {
  if (row >= p.m || col >= w.n) return;
  if (p.partial) {
    p.partial[(static_cast<std::size_t>(split) * p.m + row) * w.n + col] = v;
  } else if (__half *y = out_slot(p.out, row, col)) {
    if (w.bias) v += w.bias[col];
    *y = __float2half_rn(v);
  }
}

}  // namespace gptq::cuda::kernels
