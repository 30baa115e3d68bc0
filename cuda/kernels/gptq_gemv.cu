// The int4/int8 product for few rows (m <= 64): bandwidth-bound, so the
// design is about bytes in flight. One block owns one 16-column tile of N and
// a range of K; its 8 warps split that range, and each warp keeps 8
// 128-bit weight loads (8 KiB per warp, 16 KiB per 256-thread block of a
// 4-bit layer) in flight in a register ring while it dequantizes and
// multiplies the ones that arrived. No shared memory on the weight path and
// no block-wide barrier until the final cross-warp sum, so a few blocks per
// SM keep HBM busy (Marlin, built for Ampere, stalls on H200 for lack of
// exactly this: its cp.async pipeline holds too few bytes per SM for
// Hopper's latency x bandwidth). The activations are small and shared by
// all blocks: read through L1.
#include "cuda/cuda_check.h"
#include "cuda/kernels/gptq_device.cuh"

namespace gptq::cuda::kernels {
namespace {

constexpr int kWarps = 8;

template <int BITS, int M_TILES>
__device__ __forceinline__ void load_x(const Product &p, int kt, int t, int g, uint4 (&dst)[M_TILES][4]) {
#pragma unroll
  for (int mt = 0; mt < M_TILES; ++mt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = mt * 16 + g + 8 * h;
      if (r < p.m) {
        const uint4 *xr = reinterpret_cast<const uint4 *>(p.x + static_cast<std::size_t>(r) * p.ldx + kt * 64 + 16 * t);
        dst[mt][2 * h] = __ldg(xr);
        dst[mt][2 * h + 1] = __ldg(xr + 1);
      } else {
        dst[mt][2 * h] = dst[mt][2 * h + 1] = make_uint4(0, 0, 0, 0);
      }
    }
  }
}

// Blocks per SM the GEMV is built for: two for m <= 16 (registers allow it
// and it doubles the loads in flight), one above.
template <int M_TILES>
constexpr int kMinBlocks = M_TILES == 1 ? 2 : 1;

template <int BITS, int M_TILES>
__global__ void __launch_bounds__(kWarps * 32, kMinBlocks<M_TILES>) gemv_kernel(const PackedWeights w, const Product p) {
  constexpr int kUpl = BITS / 4;          // uint4 per lane per k-tile
  constexpr int kDepth = 8 / kUpl;        // k-tiles in flight per warp
  extern __shared__ uint4 dyn_smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int nt = blockIdx.x, split = blockIdx.y;
  const int k_begin = split * p.k_tiles_per_split;
  const int k_end = min(k_begin + p.k_tiles_per_split, w.k_tiles);
  const int per_warp = (k_end - k_begin + kWarps - 1) / kWarps;
  const int first = k_begin + warp * per_warp;
  const int count = max(0, min(first + per_warp, k_end) - first);

  float acc[M_TILES][2][4];
#pragma unroll
  for (int mt = 0; mt < M_TILES; ++mt)
#pragma unroll
    for (int nb = 0; nb < 2; ++nb)
#pragma unroll
      for (int c = 0; c < 4; ++c) acc[mt][nb][c] = 0.0f;

  // The weight loads go out first; the constants and activations follow.
  const uint4 *wp = w.qweight + (static_cast<std::size_t>(nt) * w.k_tiles + first) * 32 * kUpl + lane * kUpl;
  uint4 ring[kDepth][kUpl];
#pragma unroll
  for (int j = 0; j < kDepth; ++j)
    if (j < count)
#pragma unroll
      for (int u = 0; u < kUpl; ++u) ring[j][u] = load_stream(wp + j * 32 * kUpl + u);

  const bool staged = p.consts_smem > 0;
  StagedConsts sc;
  if (staged) sc = stage_consts(w, nt, 1, k_begin, k_end, dyn_smem);
  // For one m-tile the next k-tile's activations are loaded one tile ahead
  // (the first touch on an SM comes from L2); more m-tiles have no registers
  // left for that and read them as they go.
  constexpr bool kPrefetchX = M_TILES == 1;
  uint4 xn[M_TILES][4];
  if (kPrefetchX && count > 0) load_x<BITS, M_TILES>(p, first, t, g, xn);
  __syncthreads();

  for (int base = 0; base < count; base += kDepth) {
#pragma unroll
    for (int j = 0; j < kDepth; ++j) {
      const int i = base + j;
      if (i >= count) break;
      uint4 cur[kUpl];
#pragma unroll
      for (int u = 0; u < kUpl; ++u) cur[u] = ring[j][u];
      if (i + kDepth < count)
#pragma unroll
        for (int u = 0; u < kUpl; ++u) ring[j][u] = load_stream(wp + (i + kDepth) * 32 * kUpl + u);
      const int kt = first + i;
      uint4 xc[M_TILES][4];
      if constexpr (kPrefetchX) {
#pragma unroll
        for (int mt = 0; mt < M_TILES; ++mt)
#pragma unroll
          for (int q = 0; q < 4; ++q) xc[mt][q] = xn[mt][q];
        if (i + 1 < count) load_x<BITS, M_TILES>(p, kt + 1, t, g, xn);
      } else {
        load_x<BITS, M_TILES>(p, kt, t, g, xc);
      }

      const GroupConst gc = staged ? staged_const<BITS>(sc, 0, kt, t, g)
                                   : group_const<BITS>(w, nt, w.chunk_group[kt * 4 + t], g);
      std::uint32_t b[4][2][2];
      dequant_tile<BITS>(cur, gc, b);
#pragma unroll
      for (int mt = 0; mt < M_TILES; ++mt)
        mma_tile(acc[mt][0], acc[mt][1], row_words(xc[mt][0], xc[mt][1]), row_words(xc[mt][2], xc[mt][3]), b);
    }
  }

  // The warps' sums, added in warp order so that the result is bit-stable.
  __shared__ float red[kWarps][M_TILES * 8][32];
#pragma unroll
  for (int mt = 0; mt < M_TILES; ++mt)
#pragma unroll
    for (int nb = 0; nb < 2; ++nb)
#pragma unroll
      for (int c = 0; c < 4; ++c) red[warp][(mt * 2 + nb) * 4 + c][lane] = acc[mt][nb][c];
  __syncthreads();
  for (int idx = threadIdx.x; idx < M_TILES * 8 * 32; idx += kWarps * 32) {
    const int j = idx / 32, l = idx % 32;
    float v = 0.0f;
#pragma unroll
    for (int wi = 0; wi < kWarps; ++wi) v += red[wi][j][l];
    const int mt = j / 8, nb = (j / 4) % 2, c = j % 4;
    const int row = mt * 16 + l / 4 + (c >= 2 ? 8 : 0);
    const int col = nt * 16 + nb * 8 + 2 * (l % 4) + (c & 1);
    store_out(w, p, split, row, col, v);
  }
}

template <int BITS>
void launch_bits(const PackedWeights &w, const Product &p, int m_tiles, cudaStream_t stream) {
  const dim3 grid(w.n_tiles, p.splits), block(kWarps * 32);
  const std::size_t smem = static_cast<std::size_t>(p.consts_smem);
  switch (m_tiles) {
    case 1: gemv_kernel<BITS, 1><<<grid, block, smem, stream>>>(w, p); break;
    case 2: gemv_kernel<BITS, 2><<<grid, block, smem, stream>>>(w, p); break;
    case 4: gemv_kernel<BITS, 4><<<grid, block, smem, stream>>>(w, p); break;
    default: throw CudaError("launch_gemv: m_tiles = " + std::to_string(m_tiles) + " (1, 2 or 4)");
  }
}

// The reduction's static shared memory plus the constants must fit the
// device's opt-in limit.
template <int BITS, int M_TILES>
int prepare_one(int optin) {
  const int room = optin - kWarps * M_TILES * 8 * 32 * static_cast<int>(sizeof(float));
  GPTQ_CUDA_CHECK(cudaFuncSetAttribute(gemv_kernel<BITS, M_TILES>, cudaFuncAttributeMaxDynamicSharedMemorySize, room));
  return room;
}

}  // namespace

void prepare_gemv(int bits, int optin, int (&limits)[3]) {
  if (bits == 4) {
    limits[0] = prepare_one<4, 1>(optin);
    limits[1] = prepare_one<4, 2>(optin);
    limits[2] = prepare_one<4, 4>(optin);
  } else {
    limits[0] = prepare_one<8, 1>(optin);
    limits[1] = prepare_one<8, 2>(optin);
    limits[2] = prepare_one<8, 4>(optin);
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
