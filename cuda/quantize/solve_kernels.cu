#include "cuda/quantize/solve_kernels.h"

#include "cuda/cuda_check.h"

namespace gptq::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kRows = 32;  // output rows per block of gptq_block_kernel: one warp, one row a thread

unsigned blocks_for(std::int64_t count, int threads = kThreads) {
  return static_cast<unsigned>((count + threads - 1) / threads);
}

// core/quant/quant_grid.h, operation for operation.
__device__ __forceinline__ float grid_code(float x, float scale, float zero, float maxq) {
  const float q = rintf(x / scale) + zero;
  return q < 0.0f ? 0.0f : (q > maxq ? maxq : q);
}

__device__ __forceinline__ float grid_dequant(float code, float scale, float zero) { return scale * (code - zero); }

__device__ __forceinline__ void keep_zero_positive(float hi, float maxq, float &scale, float &zero) {
  if (zero >= 1.0f) return;
  zero = 1.0f;
  scale = hi / (maxq - 1.0f);
}

// fit_grid (core/quant/quant_grid.cpp) of one row whose `count` values v(c)
// returns; the min/max comparisons are std::min/std::max's.
template <class Values>
__device__ void fit_row(const Values &v, std::int64_t count, const GridParams &g, float &scale_out, float &zero_out) {
  float xmin = 0.0f, xmax = 0.0f;
  for (std::int64_t c = 0; c < count; ++c) {
    const float x = v(c);
    xmin = x < xmin ? x : xmin;
    xmax = xmax < x ? x : xmax;
  }
  if (g.sym) {
    const float a = fabsf(xmin);
    xmax = a < xmax ? xmax : a;
    if (xmin < 0.0f) xmin = -xmax;
  }
  if (xmin == 0.0f && xmax == 0.0f) {
    xmin = -1.0f;
    xmax = 1.0f;
  }
  float scale = (xmax - xmin) / g.maxq;
  float zero = g.sym ? (g.maxq + 1.0f) / 2.0f : rintf(-xmin / scale);
  if (g.positive_zero) keep_zero_positive(xmax, g.maxq, scale, zero);
  if (g.mse) {
    float best = INFINITY;
    for (int i = 0; i < g.steps; ++i) {
      const auto p = static_cast<float>(1.0 - static_cast<double>(i) / g.grid);
      const float lo = p * xmin, hi = p * xmax;
      float s1 = (hi - lo) / g.maxq;
      float z1 = g.sym ? zero : rintf(-lo / s1);
      if (g.positive_zero) keep_zero_positive(hi, g.maxq, s1, z1);
      float err = 0.0f;
      for (std::int64_t c = 0; c < count; ++c) {
        const float x = v(c);
        const float q = grid_dequant(grid_code(x, s1, z1, g.maxq), s1, z1);
        err += powf(fabsf(q - x), g.norm);
      }
      if (err < best) {
        best = err;
        scale = s1;
        zero = z1;
      }
    }
  }
  scale_out = scale;
  zero_out = zero;
}

__global__ void transpose_kernel(const float *w, std::int64_t n, std::int64_t k, float *wt) {
  __shared__ float t[32][33];
  const std::int64_t c0 = blockIdx.x * 32ll, r0 = blockIdx.y * 32ll;
  for (int y = threadIdx.y; y < 32; y += blockDim.y) {
    const std::int64_t r = r0 + y, c = c0 + threadIdx.x;
    if (r < n && c < k) t[y][threadIdx.x] = w[r * k + c];
  }
  __syncthreads();
  for (int y = threadIdx.y; y < 32; y += blockDim.y) {
    const std::int64_t c = c0 + y, r = r0 + threadIdx.x;
    if (r < n && c < k) wt[c * n + r] = t[threadIdx.x][y];
  }
}

__global__ void fit_groups_kernel(const float *xt, std::int64_t count, std::int64_t n, GridParams g, float *scale,
                                  float *zero) {
  const std::int64_t r = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (r >= n) return;
  const std::int64_t grp = blockIdx.y;
  const float *x = xt + grp * count * n + r;
  fit_row([&](std::int64_t c) { return x[c * n]; }, count, g, scale[grp * n + r], zero[grp * n + r]);
}

__global__ void diagonal_kernel(const float *h, std::int64_t k, float *diag) {
  const std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (j < k) diag[j] = h[j * k + j];
}

__global__ void clear_dead_kernel(const unsigned char *dead, std::int64_t k, std::int64_t n, float *h, float *wt) {
  const std::int64_t r = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const std::int64_t j = blockIdx.y;
  if (!dead[j] || r >= n) return;
  wt[j * n + r] = 0.0f;
  if (r == 0) h[j * k + j] = 1.0f;
}

__global__ void permute_rows_kernel(const float *wt, const std::int32_t *perm, std::int64_t n, float *out) {
  const std::int64_t r = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const std::int64_t i = blockIdx.y;
  if (r < n) out[i * n + r] = wt[static_cast<std::int64_t>(perm[i]) * n + r];
}

__global__ void permute_symmetric_kernel(const float *h, const std::int32_t *perm, std::int64_t k, float *out) {
  const std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (j >= k) return;
  for (std::int64_t i = blockIdx.y; i < k; i += gridDim.y)
    out[i * k + j] = h[static_cast<std::int64_t>(perm[i]) * k + perm[j]];
}

__global__ void reversed_damped_kernel(const float *h, std::int64_t k, float damp, double *a) {
  const std::int64_t kk = k * k;
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; idx < kk;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = idx / k, j = idx % k;
    a[kk - 1 - idx] = i == j ? static_cast<double>(h[idx] + damp) : static_cast<double>(h[idx]);
  }
}

__global__ void reversed_to_upper_kernel(const double *a, std::int64_t k, float *u, int *bad) {
  const std::int64_t kk = k * k;
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; idx < kk;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = idx / k, j = idx % k;
    const float v = j < i ? 0.0f : static_cast<float>(a[kk - 1 - idx]);
    u[idx] = v;
    if (i == j && !(v > 0.0f && isfinite(v))) *bad = 1;  // under/overflow in float
  }
}

// gptq_solver.cpp's solve_block_rows for one row a thread: the block's
// columns of the row live in shared memory (column c of thread t at
// tile[c * kRows + t]: no bank conflicts), replaced by the scaled errors as
// they are quantized, which a group starting mid-block needs to bring the
// columns beyond the block up to date (fit_group's pending updates).
__global__ void __launch_bounds__(kRows) gptq_block_kernel(BlockArgs a) {
  extern __shared__ float tile[];
  const std::int64_t r = blockIdx.x * static_cast<std::int64_t>(kRows) + threadIdx.x;
  if (r >= a.n) return;
  const std::int64_t n = a.n, k = a.k, width = a.i2 - a.i1;
  float *my = tile + threadIdx.x;
  for (std::int64_t c = 0; c < width; ++c) my[c * kRows] = a.wt[(a.i1 + c) * n + r];
  double loss = 0.0;
  for (std::int64_t c = 0; c < width; ++c) {
    const std::int64_t col = a.i1 + c;
    std::int64_t gi = 0;
    if (a.grouped && !a.static_groups) {
      gi = col / a.group;
      if (col % a.group == 0) {
        const auto value = [&](std::int64_t j) -> float {
          const std::int64_t p = col + j;
          if (p < a.i2) return my[(p - a.i1) * kRows];
          float x = a.wt[p * n + r];
          for (std::int64_t t = a.i1; t < col; ++t) x -= a.u[t * k + p] * my[(t - a.i1) * kRows];
          return x;
        };
        fit_row(value, a.group, a.grid, a.scale[gi * n + r], a.zero[gi * n + r]);
      }
    } else if (a.grouped) {
      gi = a.perm[col] / a.group;
    }
    const float sc = a.scale[gi * n + r], zr = a.zero[gi * n + r];
    const float d = __ldg(a.u + col * k + col);
    const float w = my[c * kRows];
    const float code = grid_code(w, sc, zr, a.grid.maxq);
    const float ev = (w - grid_dequant(code, sc, zr)) / d;
    a.q[col * n + r] = static_cast<std::uint8_t>(code);
    a.err[c * n + r] = ev;
    my[c * kRows] = ev;
    loss += static_cast<double>(ev) * ev;
    const float *urow = a.u + col * k + a.i1;
#pragma unroll 4
    for (std::int64_t j = c + 1; j < width; ++j) my[j * kRows] -= __ldg(urow + j) * ev;
  }
  a.row_loss[r] += loss;
}

__global__ void assemble_kernel(const std::uint8_t *q, const std::int32_t *perm, const std::int32_t *g_idx,
                                const float *scale, const float *zero, std::int64_t n, std::int64_t k,
                                std::uint8_t *codes, float *dequant) {
  const std::int64_t r = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const std::int64_t i = blockIdx.y;
  if (r >= n) return;
  const std::int64_t orig = perm[i];
  const std::int64_t g = g_idx[orig];
  const std::uint8_t c = q[i * n + r];
  codes[r * k + orig] = c;
  dequant[r * k + orig] = grid_dequant(static_cast<float>(c), scale[g * n + r], zero[g * n + r]);
}

unsigned capped_y(std::int64_t count) { return static_cast<unsigned>(count < 65535 ? count : 65535); }

void check_y(std::int64_t count, const char *what) {
  if (count > 65535)
    throw CudaError(std::string(what) + ": " + std::to_string(count) + " columns exceed the grid's 65535",
                    cudaErrorInvalidValue);
}

}  // namespace

void transpose(const float *w, std::int64_t n, std::int64_t k, float *wt, cudaStream_t stream) {
  const dim3 grid(blocks_for(k, 32), blocks_for(n, 32));
  transpose_kernel<<<grid, dim3(32, 8), 0, stream>>>(w, n, k, wt);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void fit_groups(const float *xt, std::int64_t count, std::int64_t n, std::int64_t groups, const GridParams &grid,
                float *scale, float *zero, cudaStream_t stream) {
  check_y(groups, "fit_groups");
  fit_groups_kernel<<<dim3(blocks_for(n, 128), static_cast<unsigned>(groups)), 128, 0, stream>>>(xt, count, n, grid,
                                                                                                scale, zero);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void diagonal(const float *h, std::int64_t k, float *diag, cudaStream_t stream) {
  diagonal_kernel<<<blocks_for(k), kThreads, 0, stream>>>(h, k, diag);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void clear_dead_inputs(const unsigned char *dead, std::int64_t k, std::int64_t n, float *h, float *wt,
                       cudaStream_t stream) {
  check_y(k, "clear_dead_inputs");
  clear_dead_kernel<<<dim3(blocks_for(n), static_cast<unsigned>(k)), kThreads, 0, stream>>>(dead, k, n, h, wt);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void permute_rows(const float *wt, const std::int32_t *perm, std::int64_t k, std::int64_t n, float *out,
                  cudaStream_t stream) {
  check_y(k, "permute_rows");
  permute_rows_kernel<<<dim3(blocks_for(n), static_cast<unsigned>(k)), kThreads, 0, stream>>>(wt, perm, n, out);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void permute_symmetric(const float *h, const std::int32_t *perm, std::int64_t k, float *out, cudaStream_t stream) {
  permute_symmetric_kernel<<<dim3(blocks_for(k), capped_y(k)), kThreads, 0, stream>>>(h, perm, k, out);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void reversed_damped(const float *h, std::int64_t k, float damp, double *a, cudaStream_t stream) {
  reversed_damped_kernel<<<4096, kThreads, 0, stream>>>(h, k, damp, a);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void reversed_to_upper(const double *a, std::int64_t k, float *u, int *bad, cudaStream_t stream) {
  reversed_to_upper_kernel<<<4096, kThreads, 0, stream>>>(a, k, u, bad);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void gptq_block(const BlockArgs &args, cudaStream_t stream) {
  const std::int64_t width = args.i2 - args.i1;
  if (width <= 0 || width > kMaxBlock)
    throw CudaError("gptq_block: block width " + std::to_string(width) + " outside 1.." + std::to_string(kMaxBlock),
                    cudaErrorInvalidValue);
  const auto smem = static_cast<std::size_t>(width) * kRows * sizeof(float);
  gptq_block_kernel<<<blocks_for(args.n, kRows), kRows, smem, stream>>>(args);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void assemble(const std::uint8_t *q, const std::int32_t *perm, const std::int32_t *g_idx, const float *scale,
              const float *zero, std::int64_t n, std::int64_t k, std::uint8_t *codes, float *dequant,
              cudaStream_t stream) {
  check_y(k, "assemble");
  assemble_kernel<<<dim3(blocks_for(n), static_cast<unsigned>(k)), kThreads, 0, stream>>>(q, perm, g_idx, scale,
                                                                                          zero, n, k, codes, dequant);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

}  // namespace gptq::cuda
