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

namespace gptq::cuda::kernels {
namespace {

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define GPTQ_WGMMA_BUILT 1
#endif

template <int BN>
struct Wgmma;

// d (64 weight rows x BN batch rows, fp32) += a (registers) * b (shared
// memory descriptor), fp16 operands: scale-d true (accumulate), no
// negation, B K-major (transpose 0).
template <>
struct Wgmma<32> {
  __device__ __forceinline__ static void run(float (&d)[16], const std::uint32_t (&a)[4], std::uint64_t b) {
#ifdef GPTQ_WGMMA_BUILT
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %21, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 "
        "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, {%16,%17,%18,%19}, %20, p, 1, 1, 0;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
#endif
  }
};

template <>
struct Wgmma<64> {
  __device__ __forceinline__ static void run(float (&d)[32], const std::uint32_t (&a)[4], std::uint64_t b) {
#ifdef GPTQ_WGMMA_BUILT
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 "
        "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
        "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36, p, 1, 1, 0;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
#endif
  }
};

template <>
struct Wgmma<128> {
  __device__ __forceinline__ static void run(float (&d)[64], const std::uint32_t (&a)[4], std::uint64_t b) {
#ifdef GPTQ_WGMMA_BUILT
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 "
        "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
        "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,"
        "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,"
        "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, {%64,%65,%66,%67}, %68, p, 1, 1, 0;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
#endif
  }
};

template <>
struct Wgmma<256> {
  __device__ __forceinline__ static void run(float (&d)[128], const std::uint32_t (&a)[4], std::uint64_t b) {
#ifdef GPTQ_WGMMA_BUILT
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %133, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 {"
        "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
        "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,"
        "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,"
        "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,"
        "%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,"
        "%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,"
        "%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,"
        "%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, {%128,%129,%130,%131}, %132, p, 1, 1, 0;\n}\n"
        :
          "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]),
          "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]),
          "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]),
          "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]),
          "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]),
          "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]),
          "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]),
          "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]),
          "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
#endif
  }
};

__device__ __forceinline__ void wgmma_fence() {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmma_commit() {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
// Until at most N of the warpgroup's committed wgmma groups are in flight.
template <int N>
__device__ __forceinline__ void wgmma_wait() {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}
// Shared-memory stores by the threads (the generic proxy) made visible to
// wgmma's reads (the async proxy); a barrier after it publishes them.
__device__ __forceinline__ void fence_async_shared() {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
// Keeps the compiler from moving accumulator reads or writes across the
// asynchronous MMA (the registers are its operands until the wait).
template <int N>
__device__ __forceinline__ void fence_operands(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// The descriptor of a K-major B tile with 128-byte swizzling: rows of 64
// fp16 (128 bytes), groups of 8 rows 1024 bytes apart (stride byte offset),
// leading byte offset unused (1), layout type 1 = 128B swizzle. The tile
// starts on a 1024-byte boundary, k-step s at + 32 s bytes.
__device__ __forceinline__ std::uint64_t b_descriptor(const void *smem) {
  const auto addr = static_cast<std::uint32_t>(__cvta_generic_to_shared(smem));
  return static_cast<std::uint64_t>((addr >> 4) & 0x3fffu) | (std::uint64_t{1} << 16) |
         (std::uint64_t{1024 >> 4} << 32) | (std::uint64_t{1} << 62);
}

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
  }
  return {};
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
  if (bits == 4)
    prepare_bits<4>();
  else
    prepare_bits<8>();
}

void launch_wgmma(WgmmaConfig c, const PackedWeights &w, const Product &p, cudaStream_t stream) {
  if (w.bits == 4)
    launch_bits<4>(c, w, p, stream);
  else
    launch_bits<8>(c, w, p, stream);
}

}  // namespace gptq::cuda::kernels
