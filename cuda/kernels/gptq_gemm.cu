// The int4/int8 product for many rows (m > 64, prefill): mma.sync
// m16n8k16 (weights as A, activations as B: gptq_device.cuh) over tiles of
// 128 (m) x 128 (n) per 256-thread block, 8 warps as 2 x 4, each warp 64
// rows x 32 columns. The activations of a k-tile (128 x 64 fp16)
// come through a 3-stage cp.async pipeline in shared memory; the weights of
// the next k-tile are loaded straight into registers (one 128-bit load per
// lane per 16 columns, the layout of gptq_repack.h) while the current one is
// dequantized and multiplied, so they never touch shared memory. K may be
// split over blocks (fp32 partial sums, reduced in order by
// launch_reduce_splits) when the tiles alone do not fill the GPU.
#include "cuda/cuda_check.h"
#include "cuda/kernels/gptq_device.cuh"

namespace gptq::cuda::kernels {
namespace {

constexpr int kBm = 128;        // rows of a block
constexpr int kStages = 3;
constexpr int kRowHalves = 72;  // 64 + 8: rows 144 bytes apart, so a lane's
                                // 16-byte reads of 8 rows hit distinct banks
constexpr int kSmemBytes = kStages * kBm * kRowHalves * 2;

// One warp's raw weights of one k-tile: two 16-column tiles.
template <int BITS>
struct WarpB {
  uint4 q[2][BITS / 4];
};

template <int BITS>
__device__ __forceinline__ void load_b(const PackedWeights &w, int nt0, int kt, int lane, WarpB<BITS> &b) {
  constexpr int kUpl = BITS / 4;
#pragma unroll
  for (int j = 0; j < 2; ++j) {
    const int nt = nt0 + j;
#pragma unroll
    for (int u = 0; u < kUpl; ++u)
      b.q[j][u] = nt < w.n_tiles
                      ? load_stream(w.qweight + (static_cast<std::size_t>(nt) * w.k_tiles + kt) * 32 * kUpl + lane * kUpl + u)
                      : make_uint4(0, 0, 0, 0);
  }
}

template <int BITS>
__global__ void __launch_bounds__(256, 1) gemm_kernel(const PackedWeights w, const Product p) {
  extern __shared__ uint4 smem[];
  __half *sx = reinterpret_cast<__half *>(smem);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int wm = warp / 4, wn = warp % 4;
  const int m0 = blockIdx.y * kBm;
  const int nt0 = blockIdx.x * 8 + wn * 2;
  const int split = blockIdx.z;
  const int k_begin = split * p.k_tiles_per_split;
  const int k_end = min(k_begin + p.k_tiles_per_split, w.k_tiles);

  // 128 rows x 8 chunks of 16 bytes per stage: 4 chunks per thread.
  auto load_a = [&](int kt, int stage) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int idx = threadIdx.x + i * 256, row = idx / 8, chunk = idx % 8;
      const int gr = m0 + row;
      const bool valid = gr < p.m;
      const __half *src = p.x + static_cast<std::size_t>(valid ? gr : 0) * p.ldx + kt * 64 + chunk * 8;
      cp_async16(sx + (stage * kBm + row) * kRowHalves + chunk * 8, src, valid);
    }
  };

  // acc[j][bg]: 16 columns of n-tile j x 8 batch rows of group bg.
  float acc[2][8][4];
#pragma unroll
  for (int a = 0; a < 2; ++a)
#pragma unroll
    for (int b = 0; b < 8; ++b)
#pragma unroll
      for (int c = 0; c < 4; ++c) acc[a][b][c] = 0.0f;

  // Weights two k-tiles ahead in registers, activations two ahead in
  // shared memory, group constants staged once.
  WarpB<BITS> cur, next, after;
  if (k_begin < k_end) load_b<BITS>(w, nt0, k_begin, lane, cur);
  if (k_begin + 1 < k_end) load_b<BITS>(w, nt0, k_begin + 1, lane, next);
  if (k_begin < k_end) load_a(k_begin, 0);
  cp_async_commit();
  if (k_begin + 1 < k_end) load_a(k_begin + 1, 1);
  cp_async_commit();
  const StagedConsts sc = stage_consts(w, blockIdx.x * 8, 8, k_begin, k_end, sx + kStages * kBm * kRowHalves);

  for (int kt = k_begin; kt < k_end; ++kt) {
    const int it = kt - k_begin;
    cp_async_wait_one();
    __syncthreads();  // tile kt landed for all; everyone is done with tile kt-1's stage
    if (kt + 2 < k_end) {
      load_a(kt + 2, (it + 2) % kStages);
      load_b<BITS>(w, nt0, kt + 2, lane, after);
    }
    cp_async_commit();

    std::uint32_t a[2][4][4];
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      dequant_tile<BITS>(cur.q[j], staged_const<BITS>(sc, wn * 2 + j, kt, t, g), a[j]);
    }
    const __half *stage = sx + (it % kStages) * kBm * kRowHalves;
    // Two groups of 8 rows at a time, k-step outermost: four independent
    // accumulators between an mma and the next one on the same.
#pragma unroll
    for (int bp = 0; bp < 8; bp += 2) {
      uint4 x[2][2];
#pragma unroll
      for (int b = 0; b < 2; ++b) {
        const uint4 *row = reinterpret_cast<const uint4 *>(stage + (wm * 64 + (bp + b) * 8 + g) * kRowHalves + 16 * t);
        x[b][0] = row[0];
        x[b][1] = row[1];
      }
#define GPTQ_GEMM_STEP(S)                                                   \
  for (int b = 0; b < 2; ++b)                                               \
    for (int j = 0; j < 2; ++j) mma_step<S>(acc[j][bp + b], a[j], x[b][0], x[b][1]);
      GPTQ_GEMM_STEP(0)
      GPTQ_GEMM_STEP(1)
      GPTQ_GEMM_STEP(2)
      GPTQ_GEMM_STEP(3)
#undef GPTQ_GEMM_STEP
    }
    cur = next;
    next = after;
  }

#pragma unroll
  for (int j = 0; j < 2; ++j)
#pragma unroll
    for (int bg = 0; bg < 8; ++bg)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int row = m0 + wm * 64 + bg * 8 + 2 * t + (c & 1);
        const int col = (nt0 + j) * 16 + g + (c >= 2 ? 8 : 0);
        store_out(w, p, split, row, col, acc[j][bg][c]);
      }
}

}  // namespace

int prepare_gemm(int bits, int optin) {
  if (bits == 4)
    GPTQ_CUDA_CHECK(cudaFuncSetAttribute(gemm_kernel<4>, cudaFuncAttributeMaxDynamicSharedMemorySize, optin));
  else
    GPTQ_CUDA_CHECK(cudaFuncSetAttribute(gemm_kernel<8>, cudaFuncAttributeMaxDynamicSharedMemorySize, optin));
  return optin - kSmemBytes;
}

void launch_gemm(const PackedWeights &w, const Product &p, cudaStream_t stream) {
  const dim3 grid((w.n_tiles + 7) / 8, (p.m + kBm - 1) / kBm, p.splits), block(256);
  const std::size_t smem = static_cast<std::size_t>(kSmemBytes + p.consts_smem);
  if (w.bits == 4)
    gemm_kernel<4><<<grid, block, smem, stream>>>(w, p);
  else
    gemm_kernel<8><<<grid, block, smem, stream>>>(w, p);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

}  // namespace gptq::cuda::kernels
