// The kernels of the GPTQ solve on the device (gptq_solve.cpp drives them).
// Layouts follow the CPU solver (core/quant/gptq_solver.cpp): the weights are
// held transposed, wt[k][n] (a column of W is contiguous over the rows), so
// one thread per output row reads and writes coalesced.
//
// Every float operation that decides a code is the CPU's, in its order, and
// the file is compiled without FMA contraction (cuda/quantize/CMakeLists.txt),
// so a row's codes differ from the CPU's only where the lazy update's cuBLAS
// sums (or powf in the MSE search) round differently.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace gptq::cuda {

// The quantization grid's options (core/quant/quant_grid.h).
struct GridParams {
  float maxq = 15.0f;
  bool sym = true;
  bool positive_zero = false;
  bool mse = false;
  float norm = 2.4f;
  int grid = 100;
  int steps = 0;  // int(max_shrink * grid), as the CPU counts it
};

// wt[c][r] = w[r][c] for the n x k row-major w.
void transpose(const float *w, std::int64_t n, std::int64_t k, float *wt, cudaStream_t stream);

// The grids of `groups` groups of `count` columns each for all n rows: group
// g reads columns [g * count, (g + 1) * count) of xt (ld n) and writes
// scale/zero[g * n + r].
void fit_groups(const float *xt, std::int64_t count, std::int64_t n, std::int64_t groups, const GridParams &grid,
                float *scale, float *zero, cudaStream_t stream);

// diag[j] = h[j][j].
void diagonal(const float *h, std::int64_t k, float *diag, cudaStream_t stream);
// For each j with dead[j]: h[j][j] = 1 and column j of W (row j of wt) = 0.
void clear_dead_inputs(const unsigned char *dead, std::int64_t k, std::int64_t n, float *h, float *wt,
                       cudaStream_t stream);
// out[i][:] = wt[perm[i]][:] (n per row); hp[i][j] = h[perm[i]][perm[j]].
void permute_rows(const float *wt, const std::int32_t *perm, std::int64_t k, std::int64_t n, float *out,
                  cudaStream_t stream);
void permute_symmetric(const float *h, const std::int32_t *perm, std::int64_t k, float *out, cudaStream_t stream);

// The inverse Cholesky's reversals (core/quant/inverse_cholesky.h):
// a = J (H + damp I) J in double, the damped diagonal rounded to float
// first; then u (row-major, float, zeros below the diagonal) = the flat
// reversal of a's upper triangle, *bad = 1 when a diagonal of u is not a
// positive finite float.
void reversed_damped(const float *h, std::int64_t k, float damp, double *a, cudaStream_t stream);
void reversed_to_upper(const double *a, std::int64_t k, float *u, int *bad, cudaStream_t stream);

// One block of solve positions [i1, i2) for every row: quantize column by
// column with the error spread inside the block, errors to err[(c - i1) * n
// + r], codes to q[c * n + r], each row's sum of squared errors added to
// row_loss[r]. Groups fitted at their first column unless static.
struct BlockArgs {
  float *wt = nullptr;          // [k][n], solve order; the block's columns are read
  const float *u = nullptr;     // [k][k] upper factor, solve order
  float *err = nullptr;         // [i2 - i1][n]
  std::uint8_t *q = nullptr;    // [k][n]
  float *scale = nullptr;       // [groups][n]
  float *zero = nullptr;        // [groups][n]
  const std::int32_t *perm = nullptr;  // solve position -> column (static groups)
  double *row_loss = nullptr;   // [n]
  std::int64_t n = 0, k = 0, i1 = 0, i2 = 0;
  std::int64_t group = 0;       // columns per group (k when per-channel)
  bool grouped = false, static_groups = false;
  GridParams grid;
};
// Widest block the kernel takes (its shared memory); wider blocks are cut.
constexpr std::int64_t kMaxBlock = 256;
void gptq_block(const BlockArgs &args, cudaStream_t stream);

// Back to [n][k] in the original column order: codes[r][perm[i]] = q[i][r]
// and its dequantized value with the group g_idx[perm[i]].
void assemble(const std::uint8_t *q, const std::int32_t *perm, const std::int32_t *g_idx, const float *scale,
              const float *zero, std::int64_t n, std::int64_t k, std::uint8_t *codes, float *dequant,
              cudaStream_t stream);

}  // namespace gptq::cuda
