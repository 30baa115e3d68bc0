// The 4-bit product for many rows on Hopper (sm_90a), warp-specialized:
// one warp copies, two warpgroups multiply.
//
// gptq_wgmma.cu's kernel does everything in every warp (activation copies
// through registers with a transpose, proxy fences, address work) and
// issues about 0.29 instructions per scheduler and cycle (TUNING.md); its
// tensor cores idle most of the time. Here:
//  - one thread fills a ring of stages, each one k-tile, with TMA: the
//    activations' BN x 64 tile (128-byte swizzle, the layout wgmma's B
//    descriptor reads; rows past m arrive as zeros), and for the block's 8
//    n-tiles (128 weight rows) their 512 bytes of codes and the k-tile's
//    group scales (and zeros), one box each. One mbarrier per stage counts
//    the bytes ("full"), one the consumers' release ("empty").
//  - each MMA warpgroup (64 weight rows) loads its lane's codes from the
//    stage, dequantizes them in registers into the wgmma A operand and
//    multiplies with the stage's activations, leaving the wgmma running
//    while it dequantizes the next k-tile (two A buffers).
//
// The k order: the repack gives lane t of a quad the codes of k 16t..16t+15
// (gptq_repack.h), an order the GEMV's activation loads want and TMA cannot
// produce in the activations (a transpose of 4-byte words). So the lanes of
// a quad exchange their words instead (logical_k_order, six shuffles): then
// lane t holds, for k-step s, the codes of k 16s + 2t, +1, +8, +9 — the A
// fragment of the activations in their own order.
//
// Dequantized weights are fp16(scale * (code - zero)) as in every other
// kernel (dequant_tile); sums in fp32 on the tensor cores.
#include <cuda.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "cuda/cuda_check.h"
#include "cuda/kernels/gptq_device.cuh"
#include "cuda/kernels/gptq_wgmma_tma.h"
#include "cuda/kernels/tma_ops.cuh"
#include "cuda/kernels/wgmma_ops.cuh"

namespace gptq::cuda::kernels {
namespace {

constexpr int kTiles = 8;            // n-tiles of 16 weight rows per block
constexpr int kCodeBytes = 512;      // one n-tile's 4-bit k-tile
constexpr int kConstBytes = 32;      // one n-tile's group constants (8 half2)
constexpr int kMmaWarps = 8;         // two warpgroups
constexpr int kThreads = 3 * 128;    // the copy warpgroup and two MMA warpgroups
constexpr int kCopyRegs = 40, kMmaRegs = 232;

template <int BN>
struct TmaShape {
  static constexpr int kXBytes = BN * 128;  // one k-tile of BN rows
  static constexpr int kStageBytes = kXBytes + kTiles * (kCodeBytes + 2 * kConstBytes);
  static constexpr int kStages = BN >= 256 ? 5 : BN >= 128 ? 6 : BN >= 64 ? 8 : 12;
  static constexpr int kSmemBytes = kStages * kStageBytes + 2 * kStages * 8 + 1024;  // + barriers, alignment
  static_assert(kXBytes % 1024 == 0, "a stage's activations keep the 1024-byte swizzle alignment");
  // The epilogue's fp32 tile of BN x 128 sums over the activation stages:
  // rows padded by 4 floats, so that a warp's stores of one accumulator
  // element (4 rows x 8 columns) fall in 32 different banks.
  static constexpr int kTileStride = kTiles * 16 + 4;
  static_assert(BN * kTileStride * 4 <= kStages * kXBytes, "the epilogue's tile fits in the stages");
};

// Lane t of a quad holds the repack's words: word u = codes of k 16t + 4u
// .. +3 (rows g, g + 8). Returns, in the same nibble layout, word s = codes
// of k 16s + 2t, +1, +8, +9 (dequant_tile then yields the A fragment of
// k-step s for activations in logical order). Lane t needs words t/2 and
// t/2 + 2 of lane s (their even nibbles when t is even, odd when odd): in
// round r it receives them from lane t ^ r, the words of k-step t ^ r.
__device__ __forceinline__ uint4 logical_k_order(const uint4 &q, int t) {
  const bool hi = t & 2;
  const std::uint32_t a = hi ? q.y : q.x, a2 = hi ? q.w : q.z;  // what lanes t, t ^ 1 want
  const std::uint32_t b = hi ? q.x : q.y, b2 = hi ? q.z : q.w;  // what lanes t ^ 2, t ^ 3 want
  const std::uint32_t p[4] = {a, __shfl_xor_sync(~0u, a, 1), __shfl_xor_sync(~0u, b, 2), __shfl_xor_sync(~0u, b, 3)};
  const std::uint32_t r[4] = {a2, __shfl_xor_sync(~0u, a2, 1), __shfl_xor_sync(~0u, b2, 2),
                              __shfl_xor_sync(~0u, b2, 3)};
  const int sh = (t & 1) * 4;
  std::uint32_t w[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) w[i] = ((p[i] >> sh) & 0x0f0f0f0fu) | (((r[i] >> sh) & 0x0f0f0f0fu) << 4);
  // Round i brought k-step i ^ t: two layers of selects put step s at s.
  const bool b0 = t & 1, b1 = t & 2;
  const std::uint32_t u0 = b0 ? w[1] : w[0], u1 = b0 ? w[0] : w[1];
  const std::uint32_t u2 = b0 ? w[3] : w[2], u3 = b0 ? w[2] : w[3];
  return make_uint4(b1 ? u2 : u0, b1 ? u3 : u1, b1 ? u0 : u2, b1 ? u1 : u3);
}

// A barrier of the two MMA warpgroups only (named barrier 1; the copy
// warpgroup has left).
__device__ __forceinline__ void mma_bar_sync() { asm volatile("bar.sync 1, %0;\n" ::"n"(2 * 128) : "memory"); }

// 8 sums of batch row `row`, columns col..col+7, out: fp16 with the bias to
// the part the columns belong to (one 16-byte store where the part's row
// allows).
__device__ __forceinline__ void store_sums8(float (&v)[8], const PackedWeights &w, const Product &p, int row,
                                            int col) {
  if (w.bias)
    for (int j = 0; j < 8; ++j) v[j] += col + j < w.n ? w.bias[col + j] : 0.0f;
  // The 8 columns lie in one part (parts start on 16-column tiles).
  __half *dst = out_slot(p.out, row, col);
  if (!dst) return;
  int part_end = p.out.cols[0];
  if (p.out.count > 1 && col >= p.out.first[1]) part_end = p.out.first[1] + p.out.cols[1];
  if (p.out.count > 2 && col >= p.out.first[2]) part_end = p.out.first[2] + p.out.cols[2];
  if (col + 8 <= part_end && reinterpret_cast<std::uintptr_t>(dst) % 16 == 0) {
    uint4 h;
    h.x = as_u32(__floats2half2_rn(v[0], v[1]));
    h.y = as_u32(__floats2half2_rn(v[2], v[3]));
    h.z = as_u32(__floats2half2_rn(v[4], v[5]));
    h.w = as_u32(__floats2half2_rn(v[6], v[7]));
    *reinterpret_cast<uint4 *>(dst) = h;
  } else {
    for (int j = 0; j < 8 && col + j < part_end; ++j) dst[j] = __float2half_rn(v[j]);
  }
}

// The block's fp32 sums, tile[r][c] for its BN batch rows from m0 and 128
// columns from n0, written out by the 256 MMA threads (index `me`): 8
// columns a task, 16 tasks a row, so that consecutive threads write
// consecutive bytes. With K split over the `ranks` blocks of a cluster
// (rank = split), each block holds its split's tile and writes 1 / ranks of
// the tasks, each the sum of the ranks' tiles read from their shared memory
// in split order from 0.0f: reduce_kernel's order, so the bits are those of
// partial sums reduced through global memory, without their round trip
// through HBM and the second launch. With p.partial (splits that do not
// fit in one wave as clusters), the split's fp32 sums go there instead.
template <int BN>
__device__ __forceinline__ void write_tile(const float *tile, const PackedWeights &w, const Product &p, int split,
                                           int m0, int n0, int me, int rank, int ranks) {
  constexpr int kStride = TmaShape<BN>::kTileStride, kTasks = BN * 16;
  const int lo = rank * kTasks / ranks, hi = (rank + 1) * kTasks / ranks;
#pragma unroll 1
  for (int task = lo + me; task < hi; task += 2 * 128) {
    const int r = task / 16, c = (task % 16) * 8;
    const int row = m0 + r, col = n0 + c;
    if (row >= p.m || col >= w.n) continue;
    const float *at = tile + r * kStride + c;
    if (p.partial) {
      float *dst = p.partial + (static_cast<std::size_t>(split) * p.m + row) * w.n + col;
      if (col + 8 <= w.n && w.n % 4 == 0) {
        reinterpret_cast<float4 *>(dst)[0] = *reinterpret_cast<const float4 *>(at);
        reinterpret_cast<float4 *>(dst)[1] = *reinterpret_cast<const float4 *>(at + 4);
      } else {
        for (int j = 0; j < 8 && col + j < w.n; ++j) dst[j] = at[j];
      }
      continue;
    }
    float v[8];
    if (ranks == 1) {
      const float4 a = *reinterpret_cast<const float4 *>(at), b = *reinterpret_cast<const float4 *>(at + 4);
      v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
    } else {
      for (int j = 0; j < 8; ++j) v[j] = 0.0f;
      for (int q = 0; q < ranks; ++q) {
        const std::uint32_t addr = cluster_smem_addr(at, static_cast<std::uint32_t>(q));
        const float4 a = cluster_load_f4(addr), b = cluster_load_f4(addr + 16);
        v[0] += a.x, v[1] += a.y, v[2] += a.z, v[3] += a.w, v[4] += b.x, v[5] += b.y, v[6] += b.z, v[7] += b.w;
      }
    }
    store_sums8(v, w, p, row, col);
  }
}

// Blocks of a launch's clusters along z: its splits of K when they sum in a
// cluster, else 1 (each split writes p.partial).
__host__ __device__ __forceinline__ int cluster_blocks(const Product &p) { return p.partial ? 1 : p.splits; }

// The kernel's TMA descriptors: the activations (2D, 64 x BN boxes, 128-byte
// swizzle), and the codes, scales and zeros of 8 n-tiles at one k-tile
// (3D: the n-tile's k-tile row, k-tile or group, n-tile).
struct TmaMaps {
  CUtensorMap x, codes, scales, zeros;
};

template <int BN>
__global__ void __launch_bounds__(kThreads, 1)
    wgmma_tma_kernel(const __grid_constant__ TmaMaps maps, const PackedWeights w, const Product p) {
  using S = TmaShape<BN>;
  extern __shared__ uint4 smem_raw[];
  const auto raw_addr = smem_addr(smem_raw);
  char *smem = reinterpret_cast<char *>(smem_raw) + ((1024 - (raw_addr & 1023)) & 1023);
  char *xs = smem;                                // [stages][BN][128 bytes], swizzled
  char *codes = xs + S::kStages * S::kXBytes;      // [stages][kTiles][512]
  char *consts = codes + S::kStages * kTiles * kCodeBytes;  // [stages][scale, zero][kTiles][8] half2
  auto *full = reinterpret_cast<std::uint64_t *>(consts + S::kStages * 2 * kTiles * kConstBytes);
  std::uint64_t *empty = full + S::kStages;

  const int tid = threadIdx.x, wg = tid / 128, lane = tid % 32;
  const int nt0 = blockIdx.y * kTiles, m0 = blockIdx.x * BN, split = blockIdx.z;
  const int k_begin = split * p.k_tiles_per_split;
  const int k_end = min(k_begin + p.k_tiles_per_split, w.k_tiles);
  const int iters = max(0, k_end - k_begin);
  const bool zeros = w.zeros != nullptr;

  if (tid == 0) {
    for (int s = 0; s < S::kStages; ++s) {
      mbar_init(&full[s], 1);
      mbar_init(&empty[s], kMmaWarps);
    }
    mbar_init_fence();
  }
  __syncthreads();

  // K split over blocks: a tile's splits are one cluster (grid.z = the
  // cluster's size = p.splits, rank = split), summed in shared memory, or
  // written to p.partial for reduce_splits.
  const int ranks = cluster_blocks(p);
  if (wg == 0) {
    regs_shrink<kCopyRegs>();
    // One thread issues the stage's four copies: the activations' tile, the
    // 8 n-tiles' codes, scales and zeros of the k-tile (one TMA box each;
    // n-tiles past the weight arrive as zeros and count as bytes).
    if (tid == 0) {
      const std::uint32_t bytes = S::kXBytes + kTiles * (kCodeBytes + (zeros ? 2 : 1) * kConstBytes);
      for (int i = 0; i < iters; ++i) {
        const int s = i % S::kStages, kt = k_begin + i, grp = kt >> w.tile_group_shift;
        if (i >= S::kStages) mbar_wait(&empty[s], ((i / S::kStages) + 1) & 1);
        mbar_arrive_expect_tx(&full[s], bytes);
        tma_load_2d(xs + s * S::kXBytes, &maps.x, kt * 64, m0, &full[s]);
        tma_load_3d(codes + s * kTiles * kCodeBytes, &maps.codes, 0, kt, nt0, &full[s]);
        tma_load_3d(consts + s * 2 * kTiles * kConstBytes, &maps.scales, 0, grp, nt0, &full[s]);
        if (zeros) tma_load_3d(consts + (s * 2 + 1) * kTiles * kConstBytes, &maps.zeros, 0, grp, nt0, &full[s]);
      }
    }
    // The warpgroup stays for the cluster's barriers (every thread of the
    // cluster arrives at them).
    if (ranks > 1) {
      cluster_sync();  // the blocks' tiles are written
      cluster_sync();  // and read
    }
    return;
  }

  regs_grow<kMmaRegs>();
  const int mw = tid / 32 - 4;  // MMA warp 0..7: n-tile nt0 + mw
  const int g = lane / 4, t = lane % 4;
  float acc[BN / 2];
#pragma unroll
  for (int i = 0; i < BN / 2; ++i) acc[i] = 0.0f;
  std::uint32_t a[2][4][4];
  // Iteration i: wait for stage i, dequantize its codes into A buffer i % 2
  // (free: the wgmma of i - 2 was waited for in i - 1), issue the k-tile's
  // four wgmma, then wait for those of i - 1 and release their stage.
  auto step = [&](int i, std::uint32_t(&ab)[4][4]) {
    const int s = i % S::kStages;
    mbar_wait(&full[s], (i / S::kStages) & 1);
    const uint4 q = *reinterpret_cast<const uint4 *>(codes + (s * kTiles + mw) * kCodeBytes + lane * 16);
    const __half2 *c = reinterpret_cast<const __half2 *>(consts) + (s * 2 * kTiles + mw) * 8 + g;
    const __half2 scale = c[0];
    const __half2 zero = zeros ? c[kTiles * 8] : as_h2(0u);
    const uint4 ql[1] = {logical_k_order(q, t)};
    dequant_tile<4>(ql, make_group_const<4>(scale, zeros, zero), ab);
    const std::uint64_t desc = b_descriptor(xs + s * S::kXBytes);
    std::uint64_t descs[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) descs[k] = desc + 2 * k;  // + 32 bytes per k-step
    fence_operands(acc);
    wgmma_fence();
#pragma unroll
    for (int k = 0; k < 4; ++k) Wgmma<BN>::run(acc, ab[k], descs[k]);
    wgmma_commit();
    wgmma_wait<1>();
    if (i > 0 && lane == 0) mbar_arrive(&empty[(i - 1) % S::kStages]);
  };
  // Pairs, then the odd one: a step under a condition inside the loop made
  // ptxas serialize every wgmma (C7513).
  int i = 0;
  for (; i + 1 < iters; i += 2) {
    step(i, a[0]);
    step(i + 1, a[1]);
  }
  if (i < iters) step(i, a[0]);
  wgmma_wait<0>();
  fence_operands(acc);

  // The block's sums go out through shared memory (the stages are free once
  // both warpgroups have waited for their last wgmma): each thread's
  // accumulators scattered one by one to global memory took over a third of
  // the kernel's time at m = 1024 (ncu: an unrolled epilogue of thousands of
  // instructions, waiting on the instruction cache), where rows of 16 bytes
  // per thread take a small loop. Accumulator element i: weight row g (+8
  // when i % 4 >= 2) of the warp's n-tile, batch row 8 (i / 4) + 2 t + i % 2.
  float *tile = reinterpret_cast<float *>(xs);  // [BN][kTileStride]
  mma_bar_sync();
#pragma unroll
  for (int i = 0; i < BN / 2; ++i)
    tile[(8 * (i / 4) + 2 * t + (i & 1)) * S::kTileStride + mw * 16 + g + ((i & 2) ? 8 : 0)] = acc[i];
  if (ranks > 1) {
    cluster_sync();  // every block's tile is written
    write_tile<BN>(tile, w, p, split, m0, nt0 * 16, tid - 128, static_cast<int>(cluster_rank()), ranks);
    cluster_sync();  // and read: no block leaves while another reads its tile
  } else {
    mma_bar_sync();
    write_tile<BN>(tile, w, p, split, m0, nt0 * 16, tid - 128, 0, 1);
  }
}

PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static std::once_flag once;
  static PFN_cuTensorMapEncodeTiled_v12000 encode = nullptr;
  std::call_once(once, [] {
    void *fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    const cudaError_t e =
        cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found);
    if (e == cudaSuccess && found == cudaDriverEntryPointSuccess) encode = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  });
  if (!encode)
    throw CudaError("the wgmma product: the driver has no cuTensorMapEncodeTiled (CUDA 12 or later)",
                    cudaErrorNotSupported);
  return encode;
}

void encode(CUtensorMap *map, CUtensorMapDataType type, int rank, const void *base, const cuuint64_t *dims,
            const cuuint64_t *strides, const cuuint32_t *box, CUtensorMapSwizzle swizzle, const char *what) {
  const cuuint32_t steps[3] = {1, 1, 1};
  const CUresult r = tensor_map_encoder()(map, type, static_cast<cuuint32_t>(rank), const_cast<void *>(base), dims,
                                          strides, box, steps, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
                                          CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    std::string shape;
    for (int i = 0; i < rank; ++i) shape += (i ? " x " : "") + std::to_string(dims[i]);
    throw CudaError("the wgmma product: cuTensorMapEncodeTiled failed (" + std::to_string(static_cast<int>(r)) +
                        ") for the " + what + " (" + shape + ")",
                    cudaErrorInvalidValue);
  }
}

// The activations [m][ldx] fp16 as k_cols x m (boxes of 64 x rows), the
// codes [n_tiles][k_tiles][128 words] and the constants [n_tiles][groups][8
// words] (boxes of 8 n-tiles at one k-tile or group).
TmaMaps tma_maps(const PackedWeights &w, const Product &p, int k_cols, int rows) {
  TmaMaps m{};
  const cuuint64_t xd[2] = {static_cast<cuuint64_t>(k_cols), static_cast<cuuint64_t>(p.m)};
  const cuuint64_t xs[1] = {static_cast<cuuint64_t>(p.ldx) * sizeof(__half)};
  const cuuint32_t xb[2] = {64, static_cast<cuuint32_t>(rows)};
  encode(&m.x, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, p.x, xd, xs, xb, CU_TENSOR_MAP_SWIZZLE_128B, "activations");
  const cuuint64_t cd[3] = {kCodeBytes / 4, static_cast<cuuint64_t>(w.k_tiles), static_cast<cuuint64_t>(w.n_tiles)};
  const cuuint64_t cs[2] = {kCodeBytes, static_cast<cuuint64_t>(w.k_tiles) * kCodeBytes};
  const cuuint32_t cb[3] = {kCodeBytes / 4, 1, kTiles};
  encode(&m.codes, CU_TENSOR_MAP_DATA_TYPE_UINT32, 3, w.qweight, cd, cs, cb, CU_TENSOR_MAP_SWIZZLE_NONE, "codes");
  const cuuint64_t gd[3] = {kConstBytes / 4, static_cast<cuuint64_t>(w.groups), static_cast<cuuint64_t>(w.n_tiles)};
  const cuuint64_t gs[2] = {kConstBytes, static_cast<cuuint64_t>(w.groups) * kConstBytes};
  const cuuint32_t gb[3] = {kConstBytes / 4, 1, kTiles};
  encode(&m.scales, CU_TENSOR_MAP_DATA_TYPE_UINT32, 3, w.scales, gd, gs, gb, CU_TENSOR_MAP_SWIZZLE_NONE, "scales");
  if (w.zeros)
    encode(&m.zeros, CU_TENSOR_MAP_DATA_TYPE_UINT32, 3, w.zeros, gd, gs, gb, CU_TENSOR_MAP_SWIZZLE_NONE, "zeros");
  return m;
}

// A launch of the BN shape over `grid` in clusters of cluster_z blocks along
// z; `attr` (the cluster's shape) must outlive the config's use.
template <int BN>
cudaLaunchConfig_t launch_config(dim3 grid, int cluster_z, cudaStream_t stream, cudaLaunchAttribute &attr) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = TmaShape<BN>::kSmemBytes;
  config.stream = stream;
  attr = cudaLaunchAttribute{};
  attr.id = cudaLaunchAttributeClusterDimension;
  attr.val.clusterDim.x = 1;
  attr.val.clusterDim.y = 1;
  attr.val.clusterDim.z = static_cast<unsigned>(cluster_z);
  config.attrs = &attr;
  config.numAttrs = 1;
  return config;
}

template <int BN>
void launch_bn(const PackedWeights &w, const Product &p, cudaStream_t stream) {
  const TmaMaps maps = tma_maps(w, p, std::min(p.ldx, w.k_tiles * 64), BN);
  cudaLaunchAttribute cluster;
  const cudaLaunchConfig_t config = launch_config<BN>(
      dim3((p.m + BN - 1) / BN, (w.n_tiles + kTiles - 1) / kTiles, p.splits), cluster_blocks(p), stream, cluster);
  GPTQ_CUDA_CHECK(cudaLaunchKernelEx(&config, wgmma_tma_kernel<BN>, maps, w, p));
}

// Clusters of `size` blocks of the BN shape that run at once on the current
// device.
template <int BN>
int max_active_clusters(int size) {
  cudaLaunchAttribute cluster;
  const cudaLaunchConfig_t config = launch_config<BN>(dim3(1, 1, size), size, nullptr, cluster);
  int clusters = 0;
  GPTQ_CUDA_CHECK(cudaOccupancyMaxActiveClusters(&clusters, wgmma_tma_kernel<BN>, &config));
  return clusters;
}

template <int BN>
void prepare_bn() {
  GPTQ_CUDA_CHECK(cudaFuncSetAttribute(wgmma_tma_kernel<BN>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       TmaShape<BN>::kSmemBytes));
}

}  // namespace

void launch_wgmma_tma(int batch_rows, const PackedWeights &w, const Product &p, cudaStream_t stream) {
  if (!wgmma_tma_takes(w))
    throw CudaError("the wgmma product: " + std::to_string(w.bits) + "-bit weights with groups that are not 64 << s "
                    "columns (it takes 4-bit, uniform groups)",
                    cudaErrorInvalidValue);
  if (p.ldx % 8 != 0 || reinterpret_cast<std::uintptr_t>(p.x) % 16 != 0)
    throw CudaError("the wgmma product: activations must be 16-byte aligned rows (row stride " +
                        std::to_string(p.ldx) + ")",
                    cudaErrorInvalidValue);
  if (p.splits < 1 || (!p.partial && p.splits > kWgmmaTmaMaxSplits))
    throw CudaError("the wgmma product: " + std::to_string(p.splits) + " splits of K without partial sums (1.." +
                        std::to_string(kWgmmaTmaMaxSplits) + ": a tile's splits are one cluster)",
                    cudaErrorInvalidValue);
  switch (batch_rows) {
    case 16: return launch_bn<16>(w, p, stream);
    case 32: return launch_bn<32>(w, p, stream);
    case 64: return launch_bn<64>(w, p, stream);
    case 128: return launch_bn<128>(w, p, stream);
    case 256: return launch_bn<256>(w, p, stream);
    default:
      throw CudaError("the wgmma product: " + std::to_string(batch_rows) + " batch rows per block", cudaErrorInvalidValue);
  }
}

bool wgmma_tma_clusters_fit(int batch_rows, int tiles, int splits) {
  if (splits < 1 || splits > kWgmmaTmaMaxSplits) return false;
  int device = 0;
  GPTQ_CUDA_CHECK(cudaGetDevice(&device));
  // Asked by every plan: answered once per device, shape and size.
  static std::mutex mu;
  static std::map<std::tuple<int, int, int>, int> known;
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_tuple(device, batch_rows, splits);
  auto it = known.find(key);
  if (it == known.end()) {
    int n = 0;
    switch (batch_rows) {
      case 16: n = max_active_clusters<16>(splits); break;
      case 32: n = max_active_clusters<32>(splits); break;
      case 64: n = max_active_clusters<64>(splits); break;
      case 128: n = max_active_clusters<128>(splits); break;
      case 256: n = max_active_clusters<256>(splits); break;
      default:
        throw CudaError("the wgmma product: " + std::to_string(batch_rows) + " batch rows per block",
                        cudaErrorInvalidValue);
    }
    it = known.emplace(key, n).first;
  }
  return tiles <= it->second;
}

void prepare_wgmma_tma() {
  prepare_bn<16>();
  prepare_bn<32>();
  prepare_bn<64>();
  prepare_bn<128>();
  prepare_bn<256>();
}

}  // namespace gptq::cuda::kernels
