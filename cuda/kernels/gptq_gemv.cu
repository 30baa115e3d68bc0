// The int4/int8 product for few rows (m <= 64), the decode path. One block
// owns one 16-column tile of N and a range of K; its 8 warps split that
// range, and each warp keeps 8 128-bit weight loads (4 KiB per warp) in
// flight in a register ring while it dequantizes and multiplies the ones
// that arrived: no shared memory on the weight path. What a block needs
// besides (its group constants, and for m <= 16 its activations when they
// fit in 32 KiB) is staged in shared memory once at its start, so that no
// k-tile waits on a chain of dependent loads; the weights of the next call
// start streaming while the previous kernel drains (programmatic dependent
// launch). The common case (4-bit, m <= 16, groups of 64 << shift columns)
// has a kernel of its own, gemv_uniform_kernel: persistent along N, scale
// applied to each k-tile's fp32 product. TUNING.md has the measurements
// behind each of these choices and what still limits the kernels.
#include "cuda/cuda_check.h"
#include "cuda/env_switch.h"
#include "cuda/kernels/gptq_device.cuh"

namespace gptq::cuda::kernels {
namespace {

constexpr int kWarps = 8;

// The lane's activation row of each group of 8 batch rows (row g of the
// group) at column 16t, or null past m; a k-tile is 8 uint4 further on.
template <int MB>
struct XRows {
  const uint4 *row[MB];
};

template <int MB>
__device__ __forceinline__ XRows<MB> x_rows(const Product &p, int t, int g) {
  XRows<MB> x;
#pragma unroll
  for (int mb = 0; mb < MB; ++mb) {
    const int r = mb * 8 + g;
    x.row[mb] = r < p.m ? reinterpret_cast<const uint4 *>(p.x + static_cast<std::size_t>(r) * p.ldx + 16 * t) : nullptr;
  }
  return x;
}

__device__ __forceinline__ void load_x(const uint4 *row, int kt, uint4 &x0, uint4 &x1) {
  if (row) {
    x0 = __ldg(row + kt * 8);
    x1 = __ldg(row + kt * 8 + 1);
  } else {
    x0 = x1 = make_uint4(0, 0, 0, 0);
  }
}

// Copies the activations' rows < m over the block's K range to shared
// memory, row r at x_stage + r * row_halves, and waits for them (every
// thread of the block calls it; the caller syncs before reading).
__device__ __forceinline__ void stage_x(const Product &p, int k_begin, int k_end, int row_halves, __half *x_stage) {
  const int chunks = (k_end - k_begin) * 8;
  for (int idx = threadIdx.x; idx < p.m * chunks; idx += kWarps * 32) {
    const int r = idx / chunks, c = idx % chunks;
    cp_async16(x_stage + r * row_halves + c * 8, p.x + static_cast<std::size_t>(r) * p.ldx + k_begin * 64 + c * 8, true);
  }
  cp_async_commit();
  cp_async_wait_all();
}

// Blocks per SM the GEMV is built for (more blocks, more loads in flight):
// three for m <= 8 with staged activations (80 registers, no spill), two for
// m <= 16, one above.
template <int MB, bool XS>
constexpr int kMinBlocks = gemv_blocks_per_sm(MB, XS);

// MB groups of 8 batch rows (m <= 8 * MB). XS: the block's activations
// (rows < m, its range of K) are copied to shared memory once, beside the
// group constants, instead of read through L1 tile by tile (each read would
// wait on L2 the first time an SM touches it, k-tile after k-tile).
template <int BITS, int MB, bool XS>
__global__ void __launch_bounds__(kWarps * 32, kMinBlocks<MB, XS>) gemv_kernel(const PackedWeights w, const Product p) {
  constexpr int kUpl = BITS / 4;          // uint4 per lane per k-tile
  constexpr int kDepth = 8 / kUpl;        // k-tiles in flight per warp (even)
  extern __shared__ uint4 dyn_smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int nt = blockIdx.x, split = blockIdx.y;
  const int k_begin = split * p.k_tiles_per_split;
  const int k_end = min(k_begin + p.k_tiles_per_split, w.k_tiles);
  const int per_warp = (k_end - k_begin + kWarps - 1) / kWarps;
  const int first = k_begin + warp * per_warp;
  const int count = max(0, min(first + per_warp, k_end) - first);

  float acc[MB][2][4];  // even and odd k-steps, added at the end
#pragma unroll
  for (int mb = 0; mb < MB; ++mb)
#pragma unroll
    for (int c = 0; c < 4; ++c) acc[mb][0][c] = acc[mb][1][c] = 0.0f;

  // The weight loads go out first; the constants and activations follow.
  const uint4 *wp = w.qweight + (static_cast<std::size_t>(nt) * w.k_tiles + first) * 32 * kUpl + lane * kUpl;
  uint4 ring[kDepth][kUpl];
#pragma unroll
  for (int j = 0; j < kDepth; ++j)
    if (j < count)
#pragma unroll
      for (int u = 0; u < kUpl; ++u) ring[j][u] = load_stream(wp + j * 32 * kUpl + u);

  const StagedConsts sc = stage_consts(w, nt, 1, k_begin, k_end, dyn_smem);
  allow_next_kernel();
  wait_for_previous_kernel();  // the activations may come from it
  // The staged activations: row r of the block's K range at x_stage + r *
  // row_halves (16 bytes of padding per row keep a warp's reads of 8 rows
  // on distinct banks).
  __half *x_stage = reinterpret_cast<__half *>(reinterpret_cast<char *>(dyn_smem) + p.consts_smem);
  const int row_halves = (k_end - k_begin) * 64 + 8;
  if constexpr (XS) stage_x(p, k_begin, k_end, row_halves, x_stage);
  // Without the stage: with one group of rows the next k-tile's activations
  // are loaded a tile ahead into a pair of slots picked at compile time; more
  // groups read them as they go.
  const XRows<MB> xr = x_rows<MB>(p, t, g);
  uint4 xs[2][2];
  if (!XS && MB == 1 && count > 0) load_x(xr.row[0], first, xs[0][0], xs[0][1]);
  __syncthreads();

  for (int base = 0; base < count; base += kDepth) {
#pragma unroll
    for (int j = 0; j < kDepth; ++j) {
      const int i = base + j, kt = first + i;
      if (i >= count) break;
      std::uint32_t a[4][4];
      dequant_tile<BITS>(ring[j], staged_const<BITS>(sc, 0, kt, t, g), a);
      if (i + kDepth < count)
#pragma unroll
        for (int u = 0; u < kUpl; ++u) ring[j][u] = load_stream(wp + (i + kDepth) * 32 * kUpl + u);
      if constexpr (XS) {
#pragma unroll
        for (int mb = 0; mb < MB; ++mb) {
          const int r = mb * 8 + g;
          uint4 x0 = make_uint4(0, 0, 0, 0), x1 = x0;
          if (r < p.m) {
            const uint4 *src = reinterpret_cast<const uint4 *>(x_stage + r * row_halves + (kt - k_begin) * 64 + 16 * t);
            x0 = src[0];
            x1 = src[1];
          }
          mma_tile(acc[mb][0], acc[mb][1], a, x0, x1);
        }
      } else if constexpr (MB == 1) {
        if (i + 1 < count) load_x(xr.row[0], kt + 1, xs[(j + 1) % 2][0], xs[(j + 1) % 2][1]);
        mma_tile(acc[0][0], acc[0][1], a, xs[j % 2][0], xs[j % 2][1]);
      } else {
#pragma unroll
        for (int mb = 0; mb < MB; ++mb) {
          uint4 x0, x1;
          load_x(xr.row[mb], kt, x0, x1);
          mma_tile(acc[mb][0], acc[mb][1], a, x0, x1);
        }
      }
    }
  }

  // The warps' sums, added in warp order so that the result is bit-stable.
  __shared__ float red[kWarps][MB * 4][32];
#pragma unroll
  for (int mb = 0; mb < MB; ++mb)
#pragma unroll
    for (int c = 0; c < 4; ++c) red[warp][mb * 4 + c][lane] = acc[mb][0][c] + acc[mb][1][c];
  __syncthreads();
  for (int idx = threadIdx.x; idx < MB * 4 * 32; idx += kWarps * 32) {
    const int j = idx / 32, l = idx % 32;
    float v = 0.0f;
#pragma unroll
    for (int wi = 0; wi < kWarps; ++wi) v += red[wi][j][l];
    const int mb = j / 4, c = j % 4;
    const int row = mb * 8 + 2 * (l % 4) + (c & 1);
    const int col = nt * 16 + l / 4 + (c >= 2 ? 8 : 0);
    store_out(w, p, split, row, col, v);
  }
}

// The fast path (gemv_uniform, gptq_kernels.h): 4-bit, groups of 64 <<
// shift columns, m <= 8 * MB <= 16. Persistent along N: block b takes the
// n-tiles b, b + gridDim.x, ... (p.n_blocks = gridDim.x, at most one wave
// of blocks), each of its warps the same range of K in every one of them, so
// that a warp's ring of weight loads stays full from its first k-tile to its
// last instead of filling and draining once per n-tile (a block of 4096^2
// streams only 8 k-tiles per warp); the block's constants are staged once
// for all its n-tiles. A k-tile's constants are two shared-memory loads, and
// its scale multiplies the tile's fp32 product (4 FFMA per tile and row
// group instead of 16 HMUL2 on the weights). The activations are read
// through L1: staging them in shared memory first (3 blocks of 80 registers
// per SM, the aligned build spilling 28 bytes, instead of 2 of 96-128) was
// slower wherever it was chosen (H200, 2026-12-03, 4-bit g128, us staged ->
// through L1: 4096^2 m = 1 4.70 -> 4.35, 11008 x 4096 m = 1 8.78 -> 8.37
// and m = 2 9.74 -> 8.44, 12288 x 4096 m = 2 10.31 -> 8.92).
//
// ALIGNED (the host's choice, gemv_uniform_aligned; one row group only: with
// two, its unrolled chunk spilled 16-28 bytes of registers): every warp's
// range of a split is a whole number of kDepth k-tiles, so a ring's worth of
// tiles never crosses an n-tile and starts on a group edge; each tile's ring slot,
// activation offset and constant row are then fixed at compile time from
// the chunk's base, and the per-tile bookkeeping (the loader's wrap, the
// flush test, address arithmetic) happens once per chunk. The same
// operations in the same order otherwise: the same bits.
//
// TAIL (with ALIGNED; the host's choice when each block takes one n-tile,
// gemv_uniform_one_tile): the warp's last chunk may be short. Its tiles
// past the warp's range are neither loaded nor multiplied; a ring's worth
// still never crosses an n-tile, since there is one. It takes the N = 4096
// products whose K is not a multiple of 4096 (the down projections) off
// the general build: H200, m = 1, us, general -> TAIL, two runs each:
// 4096 x 11008 10.27 / 10.29 -> 9.83 / 9.80, 4096 x 14336 12.78 / 12.75 ->
// 12.06 / 12.14.
template <int MB, bool ALIGNED, bool TAIL = false>
__global__ void __launch_bounds__(kWarps * 32, kMinBlocks<MB, false>)
    gemv_uniform_kernel(const PackedWeights w, const Product p) {
  // k-tiles in flight per warp. 16 (one row group through L1, 128
  // registers, no spill) was slower on H200 at e87520b: 4096 x 14336 m = 2
  // 13.73 us against 12.73 with 8, 12288 x 4096 m = 4 11.51 against 10.59.
  constexpr int kDepth = 8;
  extern __shared__ uint4 dyn_smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int split = blockIdx.y;
  const int k_begin = split * p.k_tiles_per_split;
  const int k_end = min(k_begin + p.k_tiles_per_split, w.k_tiles);
  const int per_warp = (k_end - k_begin + kWarps - 1) / kWarps;
  const int first = k_begin + warp * per_warp;
  const int count = max(0, min(first + per_warp, k_end) - first);
  const int nn = (w.n_tiles - static_cast<int>(blockIdx.x) + gridDim.x - 1) / gridDim.x;  // n-tiles of the block
  const int total = nn * count;

  // The weight loads go out first. The loader walks the warp's k-tiles of
  // one n-tile, then jumps to the same range of the block's next n-tile.
  const uint4 *lp = w.qweight + (static_cast<std::size_t>(blockIdx.x) * w.k_tiles + first) * 32 + lane;
  const std::size_t jump = (static_cast<std::size_t>(gridDim.x) * w.k_tiles - count) * 32;
  int lk = 0;
  uint4 ring[kDepth];
#pragma unroll
  for (int j = 0; j < kDepth; ++j)
    if (j < total) {
      ring[j] = load_stream(lp);
      lp += 32;
      if (++lk == count) {
        lk = 0;
        lp += jump;
      }
    }

  // Shared memory: the warps' sums [nn][kWarps][MB * 4][32], then the
  // constants.
  float *red = reinterpret_cast<float *>(dyn_smem);
  const UniformConsts uc = stage_uniform_consts(w, blockIdx.x, gridDim.x, nn, k_begin, k_end,
                                                red + nn * kWarps * MB * 4 * 32);
  allow_next_kernel();
  wait_for_previous_kernel();  // the activations may come from it
  // The lane's activation row of each row group at the warp's first k-tile
  // (a k-tile is 8 uint4 further on). Lanes of rows past m read row m - 1:
  // the products they feed are outputs past m, never stored, so no lane
  // needs a zero fill or a predicate per k-tile.
  const uint4 *xrow[MB];
#pragma unroll
  for (int mb = 0; mb < MB; ++mb) {
    const int r = min(mb * 8 + g, p.m - 1);
    xrow[mb] = reinterpret_cast<const uint4 *>(p.x + static_cast<std::size_t>(r) * p.ldx + first * 64 + 16 * t);
  }
  __syncthreads();

  float acc[MB][4];
#pragma unroll
  for (int mb = 0; mb < MB; ++mb)
#pragma unroll
    for (int c = 0; c < 4; ++c) acc[mb][c] = 0.0f;
  // The warp's sums of n-tile r out to shared memory, and its accumulators
  // cleared for the next.
  auto flush = [&](int r) {
#pragma unroll
    for (int mb = 0; mb < MB; ++mb)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        red[((r * kWarps + warp) * MB * 4 + mb * 4 + c) * 32 + lane] = acc[mb][c];
        acc[mb][c] = 0.0f;
      }
  };
  if constexpr (ALIGNED) {
    const int chunks = TAIL ? (count + kDepth - 1) / kDepth : count / kDepth;
    for (int r = 0, base = 0; r < nn; ++r) {
      for (int cb = 0; cb < chunks; ++cb, base += kDepth) {
        const bool more = base + kDepth < total;  // a next chunk to load
        const int here = total - base, ahead = here - kDepth;  // tiles left from this chunk, from the next
        const int kt0 = first + cb * kDepth, at_r = (r * uc.ng - uc.g_lo) * 8 + g;
#pragma unroll
        for (int j = 0; j < kDepth; ++j) {
          if (TAIL && j >= here) break;
          const int at = at_r + ((kt0 + j) >> w.tile_group_shift) * 8;
          const float2 scale = uc.scale[at];
          const uint4 z = uc.zero[at];
          std::uint32_t a[4][4];
          dequant4_codes(ring[j], as_h2(z.x), as_h2(z.y), as_h2(z.z), as_h2(z.w), a);
          if (TAIL ? j < ahead : more) ring[j] = load_stream(lp + j * 32);
#pragma unroll
          for (int mb = 0; mb < MB; ++mb) {
            const uint4 *src = xrow[mb] + j * 8;
            mma_tile_scaled(acc[mb], a, __ldg(src), __ldg(src + 1), scale);
          }
          // A compiler barrier between tiles, meant to keep the next tiles'
          // loads below this one's product. It is in the build measured at
          // bbe1662; ptxas reports the same registers and spills without it.
          asm volatile("" ::: "memory");
        }
        if (more) {
          lp += kDepth * 32;
          lk += kDepth;
          if (lk == count) {
            lk = 0;
            lp += jump;
          }
        }
#pragma unroll
        for (int mb = 0; mb < MB; ++mb) xrow[mb] += kDepth * 8;
      }
#pragma unroll
      for (int mb = 0; mb < MB; ++mb) xrow[mb] -= chunks * kDepth * 8;  // the next n-tile reads the same activations
      flush(r);
    }
  } else {
  int r = 0, ck = 0;  // n-tile of the block and k-tile of the warp's range being computed
  for (int base = 0; base < total; base += kDepth) {
#pragma unroll
    for (int j = 0; j < kDepth; ++j) {
      const int i = base + j;
      if (i >= total) break;
      const int at = (r * uc.ng + ((first + ck) >> w.tile_group_shift) - uc.g_lo) * 8 + g;
      const float2 scale = uc.scale[at];
      const uint4 z = uc.zero[at];
      std::uint32_t a[4][4];
      dequant4_codes(ring[j], as_h2(z.x), as_h2(z.y), as_h2(z.z), as_h2(z.w), a);
      if (i + kDepth < total) {
        ring[j] = load_stream(lp);
        lp += 32;
        if (++lk == count) {
          lk = 0;
          lp += jump;
        }
      }
#pragma unroll
      for (int mb = 0; mb < MB; ++mb) {
        const uint4 *src = xrow[mb] + ck * 8;
        mma_tile_scaled(acc[mb], a, __ldg(src), __ldg(src + 1), scale);
      }
      if (++ck == count) {  // the warp's last k-tile of n-tile r: its sums out
        flush(r);
        ck = 0;
        ++r;
      }
    }
  }
  }
  if (count == 0)  // a warp past the end of K adds zeros
    for (int rr = 0; rr < nn; ++rr)
#pragma unroll
      for (int c = 0; c < MB * 4; ++c) red[((rr * kWarps + warp) * MB * 4 + c) * 32 + lane] = 0.0f;

  // The warps' sums, added in warp order so that the result is bit-stable.
  __syncthreads();
  for (int idx = threadIdx.x; idx < nn * MB * 4 * 32; idx += kWarps * 32) {
    const int rr = idx / (MB * 4 * 32), jj = idx / 32 % (MB * 4), l = idx % 32;
    float v = 0.0f;
#pragma unroll
    for (int wi = 0; wi < kWarps; ++wi) v += red[((rr * kWarps + wi) * MB * 4 + jj) * 32 + l];
    const int mb = jj / 4, c = jj % 4;
    const int row = mb * 8 + 2 * (l % 4) + (c & 1);
    const int col = (blockIdx.x + rr * gridDim.x) * 16 + l / 4 + (c >= 2 ? 8 : 0);
    store_out(w, p, split, row, col, v);
  }
}

template <int BITS, int MB>
void launch_small(const PackedWeights &w, const Product &p, dim3 grid, dim3 block, std::size_t smem,
                  cudaStream_t stream) {
  const bool xs = p.x_smem > 0;
  if (gemv_uniform(w, MB)) {
    grid.x = p.n_blocks;
    if (MB == 1 && gemv_uniform_aligned(w, p) && !switched_off("GPTQ_GEMV_ALIGNED"))
      launch_pdl(gemv_uniform_kernel<1, true>, grid, block, smem, stream, w, p);
    else if (MB == 1 && gemv_uniform_one_tile(w, p) && !switched_off("GPTQ_GEMV_ALIGNED"))
      launch_pdl(gemv_uniform_kernel<1, true, true>, grid, block, smem, stream, w, p);
    else
      launch_pdl(gemv_uniform_kernel<MB, false>, grid, block, smem, stream, w, p);
  } else {
    launch_pdl(xs ? gemv_kernel<BITS, MB, true> : gemv_kernel<BITS, MB, false>, grid, block, smem, stream, w, p);
  }
}

template <int BITS>
void launch_bits(const PackedWeights &w, const Product &p, int m_tiles, cudaStream_t stream) {
  const dim3 grid(w.n_tiles, p.splits), block(kWarps * 32);
  const std::size_t smem = static_cast<std::size_t>(p.consts_smem + p.x_smem);
  switch (m_tiles) {
    case 1: launch_small<BITS, 1>(w, p, grid, block, smem, stream); break;
    case 2: launch_small<BITS, 2>(w, p, grid, block, smem, stream); break;
    case 4: launch_pdl(gemv_kernel<BITS, 4, false>, grid, block, smem, stream, w, p); break;
    case 8: launch_pdl(gemv_kernel<BITS, 8, false>, grid, block, smem, stream, w, p); break;
    default: throw CudaError("launch_gemv: row groups = " + std::to_string(m_tiles) + " (1, 2, 4 or 8)");
  }
}

// The reduction's static shared memory plus the constants must fit the
// device's opt-in limit.
template <int BITS, int MB>
int prepare_one(int optin) {
  const int room = optin - kWarps * MB * 4 * 32 * static_cast<int>(sizeof(float));
  GPTQ_CUDA_CHECK(cudaFuncSetAttribute(gemv_kernel<BITS, MB, false>, cudaFuncAttributeMaxDynamicSharedMemorySize, room));
  if constexpr (MB <= 2)
    GPTQ_CUDA_CHECK(cudaFuncSetAttribute(gemv_kernel<BITS, MB, true>, cudaFuncAttributeMaxDynamicSharedMemorySize, room));
  if constexpr (MB <= 2 && BITS == 4) {
    // The fast path keeps its warps' sums in dynamic shared memory: all of
    // the opt-in limit is room (the host counts the sums in).
    GPTQ_CUDA_CHECK(
        cudaFuncSetAttribute(gemv_uniform_kernel<MB, false>, cudaFuncAttributeMaxDynamicSharedMemorySize, optin));
    if constexpr (MB == 1) {
      GPTQ_CUDA_CHECK(
          cudaFuncSetAttribute(gemv_uniform_kernel<1, true>, cudaFuncAttributeMaxDynamicSharedMemorySize, optin));
      GPTQ_CUDA_CHECK(cudaFuncSetAttribute(gemv_uniform_kernel<1, true, true>,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize, optin));
    }
  }
  return room;
}

}  // namespace

void prepare_gemv(int bits, int optin, int (&limits)[4]) {
  if (bits == 4) {
    limits[0] = prepare_one<4, 1>(optin);
    limits[1] = prepare_one<4, 2>(optin);
    limits[2] = prepare_one<4, 4>(optin);
    limits[3] = prepare_one<4, 8>(optin);
  } else {
    limits[0] = prepare_one<8, 1>(optin);
    limits[1] = prepare_one<8, 2>(optin);
    limits[2] = prepare_one<8, 4>(optin);
    limits[3] = prepare_one<8, 8>(optin);
  }
}

void launch_gemv(const PackedWeights &w, const Product &p, int m_tiles, cudaStream_t stream) {
  if (w.bits == 4)
    launch_bits<4>(w, p, m_tiles, stream);
  else
    launch_bits<8>(w, p, m_tiles, stream);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

}  // namespace gptq::cuda::kernels
