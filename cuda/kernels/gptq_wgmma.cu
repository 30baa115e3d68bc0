// The int4/int8 product for batches of 33..128 rows on Hopper (sm_90a; the
// dispatch in gptq_linear.cpp says why those):
// warpgroup MMA (wgmma.mma_async, m64nNk16) with the weights as the A
// operand straight from registers and the activations as B from shared
// memory. The mma.sync GEMM (gptq_gemm.cu) keeps the tensor cores about a
// third busy on the H200 and is replaced above 127 rows by dequantize +
// cuBLAS at 0.4-0.7x cuBLAS fp16 (cuda/kernels/TUNING.md); wgmma issues a
// 64 x N x 16 product per instruction and runs while the warpgroup goes on.
// It is not yet near its bound (gptq_wgmma.h, TUNING.md).
//
// Why A from registers: a wgmma A fragment of one warp (16 rows x 16 k) has
// mma.sync m16n8k16's register layout, so the lane's 128-bit load of a
// 16 x 64 weight tile (gptq_repack.h) dequantizes with the GEMM's own code
// (dequant_tile) into four k-steps of A; shared memory holds raw codes only.
// The repack's order of k inside a tile (lane t holds columns 16t..16t+15)
// is a permutation of k that the activations must follow: logical k-step s,
// pair p (k = 2p, 2p + 1 of the step) is physical pair 8 (p % 4) + 2 s + p / 4
// of the tile. A thread moves one batch row's 16-byte chunks h, h + 2, h + 4,
// h + 6 through registers: logical chunk 4 h + i holds word i of each, so the
// permutation is a 4 x 4 transpose of words, free in registers, and B is
// stored with 128-byte swizzling (16-byte chunk c of row r at c ^ (r % 8)),
// the layout the shared-memory descriptor describes.
//
// A block: WG_N x WG_K warpgroups of 4 warps. Warp w of a warpgroup owns
// n-tile w of its 64 weight rows (one 16-row tile of the repack); the WG_N
// warpgroups take 64 rows each, the WG_K slices the same rows over
// interleaved k-tiles (kt = k_begin + i WG_K + slice), their sums added in
// slice order at the end (fixed order: the same bits every run). BN batch
// rows per block; K may also be split over blocks (fp32 partial sums reduced
// by launch_reduce_splits). Weights and group constants come through a
// cp.async ring in shared memory (RingSlot), the activations through
// registers into 4 shared stages. Each iteration: barrier, store the next
// k-tile's activations and publish them to wgmma (fence.proxy.async), load
// the one after, dequantize this k-tile from the ring, issue its wgmma and
// refill the ring. TUNING.md has what it measured and why it is slow.
#include <map>
#include <mutex>

#include "cuda/cuda_check.h"
#include "cuda/device_memory.h"
#include "cuda/kernels/gptq_device.cuh"
#include "cuda/kernels/gptq_wgmma.h"
#include "cuda/kernels/gptq_wgmma_tma.h"
#include "cuda/kernels/wgmma_ops.cuh"

namespace gptq::cuda::kernels {
namespace {

// One lane's raw weights and group constants of one k-tile, in registers.
template <int BITS>
struct RawTile {
  uint4 q[BITS / 4];
  __half2 scale, zero;
};

// The weights and group constants reach shared memory through cp.async, a
// ring of kDepth k-tiles per lane, and registers only when dequantized.
// Tried because the proxy fence that publishes the activations' stores to
// wgmma (fence.proxy.async: MEMBAR.ALL.CTA + FENCE.VIEW.ASYNC.S in SASS)
// could wait for weights prefetched into registers with plain loads; the
// H200 measured the same times both ways (TUNING.md), so that was not it.
template <int BITS>
struct RingSlot {
  uint4 q[32][BITS / 4];
  __half2 scale[32], zero[32];
};

template <int BITS>
__device__ __forceinline__ void issue_raw(const PackedWeights &w, int nt, int kt, bool valid, int lane, int t, int g,
                                          RingSlot<BITS> &slot) {
  constexpr int kUpl = BITS / 4;
  const uint4 *src = w.qweight + (static_cast<std::size_t>(valid ? nt : 0) * w.k_tiles + (valid ? kt : 0)) * 32 * kUpl +
                     lane * kUpl;
#pragma unroll
  for (int u = 0; u < kUpl; ++u) cp_async16(&slot.q[lane][u], src + u, valid);
  int grp = 0;
  if (valid) grp = w.tile_group_shift >= 0 ? kt >> w.tile_group_shift : __ldg(w.chunk_group + kt * 4 + t);
  const std::size_t at = (static_cast<std::size_t>(valid ? nt : 0) * w.groups + grp) * 8 + g;
  cp_async4(&slot.scale[lane], w.scales + at, valid);
  cp_async4(&slot.zero[lane], w.zeros ? w.zeros + at : w.scales + at, valid && w.zeros != nullptr);
}

template <int BITS>
__device__ __forceinline__ RawTile<BITS> read_raw(const RingSlot<BITS> &slot, int lane) {
  RawTile<BITS> r;
#pragma unroll
  for (int u = 0; u < BITS / 4; ++u) r.q[u] = slot.q[lane][u];
  r.scale = slot.scale[lane];
  r.zero = slot.zero[lane];
  return r;
}

template <int BITS, int BN, int WG_N, int WG_K>
struct Shape {
  static constexpr int kThreads = 128 * WG_N * WG_K;
  static constexpr int kTileBytes = BN * 128;           // one k-tile of BN rows
  static constexpr int kStageBytes = WG_K * kTileBytes;  // one k-tile per slice
  static constexpr int kStages = 4;
  static constexpr int kXBytes = kStages * kStageBytes;
  static constexpr int kTasks = WG_K * BN * 2;  // (slice, row, h): four 16-byte chunks each
  static constexpr int kAcc = BN / 2;
  static constexpr int kRedBytes = (WG_K - 1) * WG_N * 128 * kAcc * 4;
  static constexpr int kDepth = 4;  // k-tiles of weights in flight per lane
  static constexpr int kRingBytes = kThreads / 32 * kDepth * static_cast<int>(sizeof(RingSlot<BITS>));
  static constexpr int kXRedBytes = kXBytes > kRedBytes ? kXBytes : kRedBytes;
  static constexpr int kSmemBytes = kXRedBytes + kRingBytes + 1024;  // + alignment
  // Two A buffers let a warpgroup dequantize the next k-tile while its wgmma
  // runs; blocks of 4 warpgroups over K (the few-row shapes, bound by the
  // weights' bytes, not the tensor cores) keep one, to fit 128 registers,
  // and wait for each wgmma: the other slices fill the tensor cores. The
  // same for the activations' register stage: two k-tiles ahead, or one.
  static constexpr bool kDoubleA = WG_K == 1 && BN <= 128;
  static constexpr int kXSets = kDoubleA ? 2 : 1;
  static_assert(kTileBytes % 1024 == 0, "a tile must keep the 1024-byte swizzle alignment");
  static constexpr int kTasksPerThread = (kTasks + kThreads - 1) / kThreads;
  static_assert(kDepth % kStages == 0 && kDepth % kXSets == 0, "ring slots static in the unrolled loop");
};

template <int BITS, int BN, int WG_N, int WG_K>
__global__ void __launch_bounds__(128 * WG_N * WG_K, 1)
    wgmma_kernel(const PackedWeights w, const Product p) {
  // Compiled for every architecture (the host launches it only where
  // wgmma_usable()); its wgmma helpers are empty outside sm_90a.
  using S = Shape<BITS, BN, WG_N, WG_K>;
  extern __shared__ uint4 smem_raw[];
  const auto raw_addr = static_cast<std::uint32_t>(__cvta_generic_to_shared(smem_raw));
  char *smem = reinterpret_cast<char *>(smem_raw) + ((1024 - (raw_addr & 1023)) & 1023);

  const int tid = threadIdx.x, wg = tid / 128, wg_n = wg % WG_N, slice = wg / WG_N;
  const int lane = tid % 32, g = lane / 4, t = lane % 4;
  const int nt = blockIdx.y * (4 * WG_N) + wg_n * 4 + (tid % 128) / 32;
  const bool nt_valid = nt < w.n_tiles;
  const int m0 = blockIdx.x * BN;
  const int split = blockIdx.z;
  const int k_begin = split * p.k_tiles_per_split;
  const int k_end = min(k_begin + p.k_tiles_per_split, w.k_tiles);
  const int iters = k_end > k_begin ? (k_end - k_begin + WG_K - 1) / WG_K : 0;
  auto my_kt = [&](int i) { return k_begin + i * WG_K + slice; };

  // Activations: task (slice, row, h) = tid + j kThreads moves, for its
  // slice's k-tile, the 16-byte chunks h, h+2, h+4, h+6 of one row, loaded
  // into registers kXSets iterations ahead of the store that transposes
  // their words into place (the file's comment says why).
  const uint4 *x_src[S::kTasksPerThread];
  char *x_dst[S::kTasksPerThread];
  bool x_ok[S::kTasksPerThread];
  int x_sl[S::kTasksPerThread], x_swz[S::kTasksPerThread];
#pragma unroll
  for (int j = 0; j < S::kTasksPerThread; ++j) {
    const int task = tid + j * S::kThreads;
    const int sl = task / (BN * 2), row = (task / 2) % BN, h = task % 2;
    x_ok[j] = task < S::kTasks && m0 + row < p.m;
    x_src[j] = reinterpret_cast<const uint4 *>(p.x + static_cast<std::size_t>(x_ok[j] ? m0 + row : 0) * p.ldx) + h;
    x_dst[j] = smem + sl * S::kTileBytes + row * 128;
    x_sl[j] = sl;
    x_swz[j] = 4 * h ^ (row & 7);  // chunk q of the task goes to (4 h + q) ^ (row % 8) = x_swz ^ q
    if (task >= S::kTasks) x_dst[j] = nullptr;
  }
  auto load_x = [&](int i, uint4 (&r)[S::kTasksPerThread][4]) {
#pragma unroll
    for (int j = 0; j < S::kTasksPerThread; ++j) {
      const int kt = k_begin + i * WG_K + x_sl[j];
      const bool valid = x_ok[j] && i < iters && kt < k_end;
#pragma unroll
      for (int c = 0; c < 4; ++c) r[j][c] = valid ? __ldcg(x_src[j] + kt * 8 + 2 * c) : make_uint4(0, 0, 0, 0);
    }
  };
  auto store_x = [&](int i, const uint4 (&r)[S::kTasksPerThread][4]) {
#pragma unroll
    for (int j = 0; j < S::kTasksPerThread; ++j) {
      if (!x_dst[j]) continue;
      char *d = x_dst[j] + (i % S::kStages) * S::kStageBytes;
      const uint4 (&c)[4] = r[j];
      const uint4 lc[4] = {make_uint4(c[0].x, c[1].x, c[2].x, c[3].x), make_uint4(c[0].y, c[1].y, c[2].y, c[3].y),
                           make_uint4(c[0].z, c[1].z, c[2].z, c[3].z), make_uint4(c[0].w, c[1].w, c[2].w, c[3].w)};
#pragma unroll
      for (int q = 0; q < 4; ++q) *reinterpret_cast<uint4 *>(d + ((x_swz[j] ^ q) * 16)) = lc[q];
    }
  };

  float acc[S::kAcc];
#pragma unroll
  for (int i = 0; i < S::kAcc; ++i) acc[i] = 0.0f;

  // This warp's ring of weights (one cp.async group per k-tile).
  RingSlot<BITS> *ring = reinterpret_cast<RingSlot<BITS> *>(smem + S::kXRedBytes) + (tid / 32) * S::kDepth;
  auto issue_w = [&](int i, RingSlot<BITS> &slot) {
    issue_raw<BITS>(w, nt, my_kt(i), nt_valid && i < iters && my_kt(i) < k_end, lane, t, g, slot);
    cp_async_commit();
  };
#pragma unroll
  for (int d = 0; d < S::kDepth; ++d) issue_w(d, ring[d]);
  uint4 xr[S::kXSets][S::kTasksPerThread][4];
  load_x(0, xr[0]);
  store_x(0, xr[0]);
#pragma unroll
  for (int j = 1; j <= S::kXSets; ++j) load_x(j, xr[j % S::kXSets]);
  fence_async_shared();

  // Iteration i: the barrier publishes stage i (stored and fenced by all in
  // iteration i - 1) and frees stage i + 1 (last read by wgmma i - 3, long
  // waited for); store k-tile i + 1 there and load the one kXSets later,
  // dequantize into the A buffer iteration i - 2 used (its wgmma waited for
  // at the end of i - 1), issue the wgmma and (two A buffers) leave it
  // running while the next iteration goes on.
  std::uint32_t a[S::kDoubleA ? 2 : 1][4][4];
  auto step = [&](int i, RingSlot<BITS> &slot, std::uint32_t (&ab)[4][4], uint4 (&xs)[S::kTasksPerThread][4]) {
    __syncthreads();
    if (i + 1 < iters) {
      store_x(i + 1, xs);
      fence_async_shared();
      load_x(i + 1 + S::kXSets, xs);
    }
    cp_async_wait<S::kDepth - 1>();  // this lane's copies of k-tile i landed
    const RawTile<BITS> r = read_raw(slot, lane);
    dequant_tile<BITS>(r.q, make_group_const<BITS>(r.scale, w.zeros != nullptr, r.zero), ab);
    issue_w(i + S::kDepth, slot);  // after the values are in registers and used
    if (my_kt(i) < k_end) {  // the same for the whole warpgroup
      const std::uint64_t desc = b_descriptor(smem + (i % S::kStages) * S::kStageBytes + slice * S::kTileBytes);
      fence_operands(acc);
      wgmma_fence();
#pragma unroll
      for (int s = 0; s < 4; ++s) Wgmma<BN>::run(acc, ab[s], desc + 2 * s);  // + 32 bytes per k-step
      wgmma_commit();
      wgmma_wait<S::kDoubleA ? 1 : 0>();
      fence_operands(acc);
    }
  };
  // Unrolled by the ring's depth so that every ring slot, A buffer,
  // register stage and shared stage index is static.
  for (int i0 = 0; i0 < iters; i0 += S::kDepth) {
#pragma unroll
    for (int d = 0; d < S::kDepth; ++d)
      if (i0 + d < iters) step(i0 + d, ring[d], a[S::kDoubleA ? d & 1 : 0], xr[(d + 1) % S::kXSets]);
  }
  wgmma_wait<0>();
  fence_operands(acc);
  cp_async_wait<0>();

  // Slices 1.. hand their sums to slice 0 through shared memory (the stages
  // are free once every warpgroup has waited for its last wgmma).
  if constexpr (WG_K > 1) {
    float *red = reinterpret_cast<float *>(smem);
    const int in_wg = tid % 128;
    __syncthreads();
    if (slice > 0) {
#pragma unroll
      for (int i = 0; i < S::kAcc; ++i) red[(((slice - 1) * WG_N + wg_n) * S::kAcc + i) * 128 + in_wg] = acc[i];
    }
    __syncthreads();
    if (slice > 0) return;
#pragma unroll
    for (int sl = 1; sl < WG_K; ++sl)
#pragma unroll
      for (int i = 0; i < S::kAcc; ++i) acc[i] += red[(((sl - 1) * WG_N + wg_n) * S::kAcc + i) * 128 + in_wg];
  }
  if (!nt_valid) return;
  // Accumulator element i: weight row g (+8 when i % 4 >= 2) of the warp's
  // n-tile, batch row 8 (i / 4) + 2 t + i % 2.
#pragma unroll
  for (int i = 0; i < S::kAcc; ++i) {
    const int row = m0 + 8 * (i / 4) + 2 * t + (i & 1);
    const int col = nt * 16 + g + ((i & 2) ? 8 : 0);
    store_out(w, p, split, row, col, acc[i]);
  }
}

__global__ void wgmma_built_kernel(int *out) {
#ifdef GPTQ_WGMMA_BUILT
  *out = 1;
#else
  *out = 0;
#endif
}

template <int BITS, int BN, int WG_N, int WG_K>
void prepare_one() {
  GPTQ_CUDA_CHECK(cudaFuncSetAttribute(wgmma_kernel<BITS, BN, WG_N, WG_K>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       Shape<BITS, BN, WG_N, WG_K>::kSmemBytes));
}

template <int BITS, int BN, int WG_N, int WG_K>
void launch_one(const PackedWeights &w, const Product &p, cudaStream_t stream) {
  using S = Shape<BITS, BN, WG_N, WG_K>;
  const dim3 grid((p.m + BN - 1) / BN, (w.n_tiles + 4 * WG_N - 1) / (4 * WG_N), p.splits);
  wgmma_kernel<BITS, BN, WG_N, WG_K><<<grid, S::kThreads, S::kSmemBytes, stream>>>(w, p);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

template <int BITS>
void launch_bits(WgmmaConfig c, const PackedWeights &w, const Product &p, cudaStream_t stream) {
  switch (c) {
    case WgmmaConfig::kN32K4: return launch_one<BITS, 32, 1, 4>(w, p, stream);
    case WgmmaConfig::kN64K4: return launch_one<BITS, 64, 1, 4>(w, p, stream);
    case WgmmaConfig::kN128R2: return launch_one<BITS, 128, 2, 1>(w, p, stream);
    case WgmmaConfig::kN64R2: return launch_one<BITS, 64, 2, 1>(w, p, stream);
    case WgmmaConfig::kN256R2: return launch_one<BITS, 256, 2, 1>(w, p, stream);
    case WgmmaConfig::kTmaN64: return launch_wgmma_tma(64, w, p, stream);
    case WgmmaConfig::kTmaN128: return launch_wgmma_tma(128, w, p, stream);
    case WgmmaConfig::kTmaN256: return launch_wgmma_tma(256, w, p, stream);
    case WgmmaConfig::kTmaN32: return launch_wgmma_tma(32, w, p, stream);
    case WgmmaConfig::kTmaN16: return launch_wgmma_tma(16, w, p, stream);
  }
}

template <int BITS>
void prepare_bits() {
  prepare_one<BITS, 32, 1, 4>();
  prepare_one<BITS, 64, 1, 4>();
  prepare_one<BITS, 128, 2, 1>();
  prepare_one<BITS, 64, 2, 1>();
  prepare_one<BITS, 256, 2, 1>();
}

}  // namespace

WgmmaGeometry wgmma_geometry(WgmmaConfig c) {
  switch (c) {
    case WgmmaConfig::kN32K4: return {32, 64, 4};
    case WgmmaConfig::kN64K4: return {64, 64, 4};
    case WgmmaConfig::kN128R2: return {128, 128, 1};
    case WgmmaConfig::kN64R2: return {64, 128, 1};
    case WgmmaConfig::kN256R2: return {256, 128, 1};
    case WgmmaConfig::kTmaN64: return {64, 128, 1};
    case WgmmaConfig::kTmaN128: return {128, 128, 1};
    case WgmmaConfig::kTmaN256: return {256, 128, 1};
    case WgmmaConfig::kTmaN32: return {32, 128, 1};
    case WgmmaConfig::kTmaN16: return {16, 128, 1};
  }
  return {};
}

WgmmaConfig wgmma_config_for(WgmmaConfig c, int bits, int tile_group_shift) {
  PackedWeights w;
  w.bits = bits;
  w.tile_group_shift = tile_group_shift;
  if (wgmma_tma_takes(w)) return c;
  switch (c) {
    case WgmmaConfig::kTmaN64: return WgmmaConfig::kN64R2;
    case WgmmaConfig::kTmaN128: return WgmmaConfig::kN128R2;
    case WgmmaConfig::kTmaN256: return WgmmaConfig::kN256R2;
    case WgmmaConfig::kTmaN32:
    case WgmmaConfig::kTmaN16: return WgmmaConfig::kN32K4;
    default: return c;
  }
}

bool wgmma_usable() {
  int device = 0;
  GPTQ_CUDA_CHECK(cudaGetDevice(&device));
  // Asked once per device and process (every layer of a model asks).
  static std::mutex mu;
  static std::map<int, bool> known;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = known.find(device); it != known.end()) return it->second;
  cudaDeviceProp prop{};
  GPTQ_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  bool built = false;
  // sm_90a code runs on compute capability 9.0 only.
  if (prop.major == 9 && prop.minor == 0) {
    DeviceArray<int> flag(1, "the wgmma probe's flag");
    wgmma_built_kernel<<<1, 1>>>(flag.get());
    GPTQ_CUDA_CHECK(cudaGetLastError());
    int v = 0;
    GPTQ_CUDA_CHECK(cudaMemcpy(&v, flag.get(), sizeof(int), cudaMemcpyDeviceToHost));
    built = v == 1;
  }
  known[device] = built;
  return built;
}

void prepare_wgmma(int bits) {
  if (bits == 4) {
    prepare_bits<4>();
    prepare_wgmma_tma();
  } else {
    prepare_bits<8>();
  }
}

void launch_wgmma(WgmmaConfig c, const PackedWeights &w, const Product &p, cudaStream_t stream) {
  if (w.bits == 4)
    launch_bits<4>(c, w, p, stream);
  else
    launch_bits<8>(c, w, p, stream);
}

}  // namespace gptq::cuda::kernels
