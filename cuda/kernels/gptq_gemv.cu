// The int4/int8 product for few rows (m <= 64), the decode path. One block
// owns one 16-column tile of N and a range of K; its 8 warps split that
// range, and each warp keeps 8 128-bit weight loads (4 KiB per warp) in
// flight in a register ring while it dequantizes and multiplies the ones
// that arrived: no shared memory on the weight path. What a block needs
// besides (its group constants, and for m <= 16 its activations when they
// fit in 32 KiB) is staged in shared memory once at its start, so that no
// k-tile waits on a chain of dependent loads; the weights of the next call
// start streaming while the previous kernel drains (programmatic dependent
// launch). TUNING.md has the measurements behind each of these choices and
// what still limits the kernel (instructions per weight, per-block latency).
#include "cuda/cuda_check.h"
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

// One k-tile of one row group into its even/odd accumulators; UNI: the
// weights are code - zero and `scale` applies to the product.
template <bool UNI>
__device__ __forceinline__ void tile_product(float (&acc)[2][4], const std::uint32_t (&a)[4][4], uint4 x0, uint4 x1,
                                             float2 scale) {
  if constexpr (UNI)
    mma_tile_scaled(acc[0], acc[1], a, x0, x1, scale);
  else
    mma_tile(acc[0], acc[1], a, x0, x1);
}

// Blocks per SM the GEMV is built for (more blocks, more loads in flight):
// three for m <= 8 with staged activations (80 registers, no spill), two for
// m <= 16, one above.
template <int MB, bool XS>
constexpr int kMinBlocks = MB == 1 && XS ? 3 : MB <= 2 ? 2 : 1;

// MB groups of 8 batch rows (m <= 8 * MB). XS: the block's activations
// (rows < m, its range of K) are copied to shared memory once, beside the
// group constants, instead of read through L1 tile by tile (each read would
// wait on L2 the first time an SM touches it, k-tile after k-tile). UNI: the
// fast path of gemv_uniform (gptq_kernels.h): a k-tile's constants are one
// shared-memory load, and its scale multiplies the tile's fp32 product
// (4 + 4 FFMA per tile and row group instead of 16 HMUL2 on the weights).
template <int BITS, int MB, bool XS, bool UNI = false>
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

  StagedConsts sc;
  UniformConsts uc;
  if constexpr (UNI)
    uc = stage_uniform_consts(w, nt, k_begin, k_end, dyn_smem);
  else
    sc = stage_consts(w, nt, 1, k_begin, k_end, dyn_smem);
  allow_next_kernel();
  wait_for_previous_kernel();  // the activations may come from it
  // The staged activations: row r of the block's K range at x_stage + r *
  // row_halves (16 bytes of padding per row keep a warp's reads of 8 rows
  // on distinct banks).
  __half *x_stage = reinterpret_cast<__half *>(reinterpret_cast<char *>(dyn_smem) + p.consts_smem);
  const int row_halves = (k_end - k_begin) * 64 + 8;
  if constexpr (XS) {
    const int chunks = (k_end - k_begin) * 8;
    for (int idx = threadIdx.x; idx < p.m * chunks; idx += kWarps * 32) {
      const int r = idx / chunks, c = idx % chunks;
      cp_async16(x_stage + r * row_halves + c * 8, p.x + static_cast<std::size_t>(r) * p.ldx + k_begin * 64 + c * 8, true);
    }
    cp_async_commit();
    cp_async_wait_all();
  }
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
      float2 scale = make_float2(0.0f, 0.0f);
      if constexpr (UNI) {
        const int at = ((kt >> w.tile_group_shift) - uc.g_lo) * 8 + g;
        scale = uc.scale[at];
        const uint4 z = uc.zero[at];
        dequant4_codes(ring[j][0], as_h2(z.x), as_h2(z.y), as_h2(z.z), as_h2(z.w), a);
      } else {
        dequant_tile<BITS>(ring[j], staged_const<BITS>(sc, 0, kt, t, g), a);
      }
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
          tile_product<UNI>(acc[mb], a, x0, x1, scale);
        }
      } else if constexpr (MB == 1) {
        if (i + 1 < count) load_x(xr.row[0], kt + 1, xs[(j + 1) % 2][0], xs[(j + 1) % 2][1]);
        tile_product<UNI>(acc[0], a, xs[j % 2][0], xs[j % 2][1], scale);
      } else {
#pragma unroll
        for (int mb = 0; mb < MB; ++mb) {
          uint4 x0, x1;
          load_x(xr.row[mb], kt, x0, x1);
          tile_product<UNI>(acc[mb], a, x0, x1, scale);
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

template <int BITS, int MB>
void launch_small(const PackedWeights &w, const Product &p, dim3 grid, dim3 block, std::size_t smem,
                  cudaStream_t stream) {
  const bool xs = p.x_smem > 0;
  if (BITS == 4 && gemv_uniform(w, MB))
    launch_pdl(xs ? gemv_kernel<4, MB, true, true> : gemv_kernel<4, MB, false, true>, grid, block, smem, stream, w, p);
  else
    launch_pdl(xs ? gemv_kernel<BITS, MB, true> : gemv_kernel<BITS, MB, false>, grid, block, smem, stream, w, p);
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
  if constexpr (MB <= 2 && BITS == 4)
    for (auto kernel : {gemv_kernel<4, MB, false, true>, gemv_kernel<4, MB, true, true>})
      GPTQ_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, room));
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
