// Host-side launchers of the int4/int8 GPTQ kernels (gptq_gemv.cu,
// gptq_gemm.cu, gptq_aux.cu). They only enqueue on the given stream; the
// choice between them and the split of K is made by GptqLinear
// (gptq_linear.cu). Weights are in the layout of gptq_repack.h.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace gptq::cuda::kernels {

// One repacked layer on the device.
struct PackedWeights {
  int bits = 0;
  const uint4 *qweight = nullptr;     // [n_tiles][k_tiles][32][bits/4] uint4
  const __half2 *scales = nullptr;    // [n_tiles][groups][8]
  const __half2 *zeros = nullptr;     // same, or null when symmetric
  const int *chunk_group = nullptr;   // [k_tiles * 4]
  int tile_group_shift = -1;          // GptqPacked::tile_group_shift
  const float *bias = nullptr;        // [n] or null
  int n = 0;
  int n_tiles = 0;
  int k_tiles = 0;                    // k_pad / 64
  int groups = 0;
};

// Where a product's columns go. A layer fused from several linears of one
// input (q/k/v, gate/up: gptq_repack.h's fuse_gptq) holds its members one
// after another, each from a 16-column tile on: part i is columns
// [first[i], first[i] + cols[i]) of the product, written to its own
// row-major y[i][m][cols[i]]; the columns between parts (a member's last
// tile's padding) go nowhere. One part {y, 0, n} for a plain layer.
constexpr int kMaxOutParts = 3;
struct OutParts {
  int count = 1;
  __half *y[kMaxOutParts] = {};
  int first[kMaxOutParts] = {};
  int cols[kMaxOutParts] = {};
};

// One product: y = x[m][k_pad] * W^T (+ bias), y as `out` says. x holds the
// repacked column order, rows ldx halves apart (ldx a multiple of 8, x
// 16-byte aligned). With splits > 1 each split of K writes fp32 partial sums
// to partial[split][m][n] and reduce_splits() finishes (the warp-specialized
// wgmma kernel, given no partial, sums them in a cluster: gptq_wgmma_tma.h).
struct Product {
  const __half *x = nullptr;
  int ldx = 0;
  int m = 0;
  OutParts out;
  float *partial = nullptr;
  int splits = 1;
  int k_tiles_per_split = 0;
  // Dynamic shared memory for the block's group constants
  // (staged_consts_bytes, a multiple of 16; the host splits K until it fits).
  int consts_smem = 0;
  // GEMV only, m <= 16: shared memory for the block's activations
  // (gemv_x_stage_bytes), or 0 to read them through L1.
  int x_smem = 0;
  // GEMV only: launch chained (chained_launch.h; sm_90 and later).
  bool pdl = false;
  // GEMV fast path only (gemv_uniform): blocks along N; block b takes the
  // n-tiles b, b + n_blocks, ... (gemv_uniform_blocks).
  int n_blocks = 0;
};

// Shared memory that stage_consts() (gptq_device.cuh) uses for ng groups of
// ntiles 16-column tiles over k_tiles k-tiles.
inline int staged_consts_bytes(int ntiles, int ng, int k_tiles, bool zeros) {
  return ntiles * ng * 8 * 4 * (zeros ? 2 : 1) + k_tiles * 4 * 4;
}

// The decode GEMV's fast path (gptq_gemv.cu): 4-bit, m <= 16, uniform
// groups (k-tile kt in group kt >> tile_group_shift). Its blocks each take
// several n-tiles; it stages each group's constants once, ready to use, and
// applies the scale to the fp32 product of each k-tile instead of to every
// dequantized weight.
inline bool gemv_uniform(const PackedWeights &w, int m_tiles) {
  return w.bits == 4 && m_tiles <= 2 && w.tile_group_shift >= 0;
}

// Whether the fast path's warps (8 per block) each get a whole number of
// 8-k-tile chunks in every split (K a multiple of 4096 in one split: every
// 7B-to-70B shape whose input is the hidden state), which its ALIGNED build
// runs without per-tile bookkeeping.
inline bool gemv_uniform_aligned(const PackedWeights &w, const Product &p) {
  constexpr int kChunk = 8 * 8;  // warps x k-tiles in flight per warp
  return p.k_tiles_per_split % kChunk == 0 && w.k_tiles % p.k_tiles_per_split == 0;
}

// Whether each block of the fast path takes one n-tile (p.n_blocks, from
// gemv_uniform_blocks, is one per n-tile: N = 4096 on the H200). Its ALIGNED
// build then runs any range of K, a warp's last chunk short (TAIL).
inline bool gemv_uniform_one_tile(const PackedWeights &w, const Product &p) { return p.n_blocks == w.n_tiles; }

// Blocks of the GEMV resident per SM (its launch bounds): three for one row
// group with staged activations (80 registers), two for up to two groups,
// one above.
constexpr int gemv_blocks_per_sm(int m_tiles, bool x_staged) {
  return m_tiles == 1 && x_staged ? 3 : m_tiles <= 2 ? 2 : 1;
}

// The fast path's blocks along N for `splits` splits of K: one wave of
// resident blocks at most, each taking ceil(n_tiles / blocks) n-tiles or one
// fewer, but never more than kMaxTilesPerBlock (more waves then).
constexpr int kGemvMaxTilesPerBlock = 8;
inline int gemv_uniform_blocks(int n_tiles, int splits, int sms, int blocks_per_sm) {
  const int wave = std::max(1, sms * blocks_per_sm / std::max(1, splits));
  const int least = (n_tiles + kGemvMaxTilesPerBlock - 1) / kGemvMaxTilesPerBlock;
  return std::min(n_tiles, std::max(wave, least));
}

// Dynamic shared memory of a fast-path block before its activations: the
// 8 warps' sums and the constants (gptq_device.cuh: stage_uniform_consts)
// of nn n-tiles over ng groups, m_tiles row groups.
inline int staged_uniform_consts_bytes(int nn, int ng, int m_tiles) {
  return nn * (8 * m_tiles * 4 * 32 * 4 + ng * 8 * (8 + 16));
}

// Shared memory for m rows of activations over k_tiles k-tiles (16 bytes of
// padding per row).
inline int gemv_x_stage_bytes(int m, int k_tiles) { return m * (k_tiles * 128 + 16); }

// The most shared memory each kernel may give its group constants on the
// current device (after prepare_kernels()).
struct ConstsLimits {
  int gemv[4] = {0, 0, 0, 0};  // row groups 1, 2, 4, 8
  int gemm = 0;
};

// m <= 8 * m_tiles, m_tiles (groups of 8 batch rows) in {1, 2, 4, 8}:
// weights streamed straight into registers, K split over the warps of a
// block (and over `splits` blocks).
void launch_gemv(const PackedWeights &w, const Product &p, int m_tiles, cudaStream_t stream);

// Any m: tensor-core tiles of 128 x 128, activations through a 3-stage
// cp.async pipeline in shared memory, weights into registers.
void launch_gemm(const PackedWeights &w, const Product &p, cudaStream_t stream);
// Raises the kernels' dynamic shared-memory limits on the current device to
// what it allows, and says how much that leaves for group constants.
ConstsLimits prepare_kernels(int bits);
// Its two halves; `optin` is the device's per-block opt-in limit.
void prepare_gemv(int bits, int optin, int (&limits)[4]);
int prepare_gemm(int bits, int optin);

// xw[r][kk] = x[r][perm[kk]] (0 where perm[kk] < 0), or x[r][kk] for kk < k
// when perm is null: the repacked column order and a 16-byte aligned row.
void launch_permute(const __half *x, int m, int k, const int *perm, int k_pad, __half *xw,
                    cudaStream_t stream);

// Rows [n0, n0 + rows) of the weight as fp16, [rows][k_pad] in the repacked
// column order (n0 a multiple of 16): for large m, where cuBLAS on the
// dequantized weight beats launch_gemm (gptq_linear.cpp says by how much).
void launch_dequant(const PackedWeights &w, int n0, int rows, __half *out, cudaStream_t stream);

// y[r][c] = sum over splits of partial[s][r][c] (+ bias[c]), in split order,
// written where `out` puts column c.
void launch_reduce_splits(const float *partial, int splits, int m, int n, const float *bias,
                          const OutParts &out, cudaStream_t stream);

}  // namespace gptq::cuda::kernels
