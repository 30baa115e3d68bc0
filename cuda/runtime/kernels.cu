#include "cuda/runtime/kernels.h"

#include <algorithm>
#include <cmath>

#include "cuda/cuda_check.h"
#include "cuda/kernels/chained_launch.h"
#include "cuda/runtime/rope.cuh"

namespace gptq::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(std::int64_t n) {
  const std::int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65535 * 32 ? b : 65535 * 32);
}

// Grid-stride loop over [0, n).
#define GPTQ_FOR_EACH(i, n) \
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < (n); i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)

// Elements of a row each thread keeps in registers (with their weights):
// rows up to 8 x 1024 columns are read once; wider ones are read again for
// each pass.
constexpr int kNormCached = 8;

// Threads of a norm's block: about kNormCached elements each, a multiple of
// 32, at most 1024 (block_sum's limit).
unsigned norm_threads(std::int64_t width) {
  const std::int64_t t = (width / kNormCached + 31) / 32 * 32;
  return static_cast<unsigned>(std::clamp<std::int64_t>(t, 32, 1024));
}

__global__ void embed_rows_kernel(const std::int32_t *ids, const __half *table, std::int64_t rows, std::int64_t width,
                                  __half *out) {
  allow_next_kernel();
  wait_for_previous_kernel();
  GPTQ_FOR_EACH(i, rows * width) {
    const std::int64_t r = i / width, c = i % width;
    out[i] = table[static_cast<std::int64_t>(ids[r]) * width + c];
  }
}

__global__ void to_hidden_kernel(const __half *src, const __half *positions, std::int64_t rows, std::int64_t width,
                                 std::int64_t seq, const std::int64_t *past_at, std::int64_t offset, float *hidden) {
  allow_next_kernel();
  wait_for_previous_kernel();
  GPTQ_FOR_EACH(i, rows * width) {
    const std::int64_t r = i / width, c = i % width;
    float v = __half2float(src[i]);
    if (positions) v += __half2float(positions[(past_at[r / seq] + r % seq + offset) * width + c]);
    hidden[i] = v;
  }
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024).
__device__ float block_sum(float v, float *scratch) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / 32;
  v = lane < warps ? scratch[lane] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <class Out>
__device__ Out from_float(float v);
template <>
__device__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ float from_float<float>(float v) {
  return v;
}

// The row's element c of x, after adding add[c] (when given) and storing the
// sum back into x: the residual add before a pre-norm, in the same pass.
__device__ __forceinline__ float norm_input(float *in, const __half *add, std::int64_t c) {
  float v = in[c];
  if (add) {
    v += __half2float(add[c]);
    in[c] = v;
  }
  return v;
}

// One block per row, as many threads as keep each to about kNormCached
// elements (so that a decode step's single row spreads over enough
// threads). Each thread reads its elements once into registers and sums
// them in the order of the uncached passes, so both give the same bits. In
// place is safe: each element is read before it is written, by the same
// thread.
template <class Out>
__global__ void __launch_bounds__(1024) norm_kernel(bool layer_norm, float *x, const __half *add, const float *weight,
                                                    const float *bias, float eps, std::int64_t width, Out *out) {
  __shared__ float scratch[32];
  float *in = x + blockIdx.x * width;
  const __half *ad = add ? add + blockIdx.x * width : nullptr;
  Out *o = out + blockIdx.x * width;
  const float n = static_cast<float>(width);
  if (width <= kNormCached * static_cast<std::int64_t>(blockDim.x)) {
    // The weights are constant: loaded while the kernel before still runs.
    float wv[kNormCached];
#pragma unroll
    for (int j = 0; j < kNormCached; ++j) {
      const std::int64_t c = threadIdx.x + static_cast<std::int64_t>(j) * blockDim.x;
      wv[j] = c < width ? weight[c] : 0.0f;
    }
    allow_next_kernel();
    wait_for_previous_kernel();
    // Every load before the first store: the compiler cannot move a load of
    // x past a store to it, and one round trip per element would follow.
    float v[kNormCached];
#pragma unroll
    for (int j = 0; j < kNormCached; ++j) {
      const std::int64_t c = threadIdx.x + static_cast<std::int64_t>(j) * blockDim.x;
      v[j] = c >= width ? 0.0f : ad ? in[c] + __half2float(ad[c]) : in[c];
    }
    if (ad)
#pragma unroll
      for (int j = 0; j < kNormCached; ++j) {
        const std::int64_t c = threadIdx.x + static_cast<std::int64_t>(j) * blockDim.x;
        if (c < width) in[c] = v[j];
      }
    float mean = 0.0f;
    if (layer_norm) {
      float s = 0.0f;
#pragma unroll
      for (int j = 0; j < kNormCached; ++j)
        if (threadIdx.x + static_cast<std::int64_t>(j) * blockDim.x < width) s += v[j];
      mean = block_sum(s, scratch) / n;
    }
    float ss = 0.0f;
#pragma unroll
    for (int j = 0; j < kNormCached; ++j)
      if (threadIdx.x + static_cast<std::int64_t>(j) * blockDim.x < width) {
        const float d = v[j] - mean;
        ss += d * d;
      }
    const float inv = rsqrtf(block_sum(ss, scratch) / n + eps);
#pragma unroll
    for (int j = 0; j < kNormCached; ++j) {
      const std::int64_t c = threadIdx.x + static_cast<std::int64_t>(j) * blockDim.x;
      if (c >= width) break;
      float r = (v[j] - mean) * inv * wv[j];
      if (bias) r += bias[c];
      o[c] = from_float<Out>(r);
    }
    return;
  }
  allow_next_kernel();
  wait_for_previous_kernel();
  float mean = 0.0f;
  float s = 0.0f;
  for (std::int64_t c = threadIdx.x; c < width; c += blockDim.x) s += norm_input(in, ad, c);
  if (layer_norm) mean = block_sum(s, scratch) / n;
  float ss = 0.0f;
  for (std::int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    const float d = in[c] - mean;
    ss += d * d;
  }
  const float inv = rsqrtf(block_sum(ss, scratch) / n + eps);
  for (std::int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    float r = (in[c] - mean) * inv * weight[c];
    if (bias) r += bias[c];
    o[c] = from_float<Out>(r);
  }
}

__global__ void to_half_kernel(const float *x, std::int64_t n, __half *out) {
  allow_next_kernel();
  wait_for_previous_kernel();
  GPTQ_FOR_EACH(i, n) out[i] = __float2half_rn(x[i]);
}

__global__ void to_float_kernel(const __half *x, std::int64_t n, float *out) {
  allow_next_kernel();
  wait_for_previous_kernel();
  GPTQ_FOR_EACH(i, n) out[i] = __half2float(x[i]);
}

__global__ void add_residual_kernel(float *hidden, const __half *y, std::int64_t n) {
  allow_next_kernel();
  wait_for_previous_kernel();
  GPTQ_FOR_EACH(i, n) hidden[i] += __half2float(y[i]);
}

__device__ float act(ActKind a, float x) {
  switch (a) {
    case ActKind::Silu: return x / (1.0f + expf(-x));
    case ActKind::Relu: return x > 0.0f ? x : 0.0f;
    case ActKind::Gelu: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case ActKind::GeluTanh: {
      const float c = 0.79788456080286536f;  // sqrt(2 / pi)
      return 0.5f * x * (1.0f + tanhf(c * (x + 0.044715f * x * x * x)));
    }
  }
  return x;
}

__global__ void activate_kernel(ActKind a, __half *gate, const __half *up, std::int64_t n) {
  allow_next_kernel();
  wait_for_previous_kernel();
  GPTQ_FOR_EACH(i, n) {
    float v = act(a, __half2float(gate[i]));
    if (up) v *= __half2float(up[i]);
    gate[i] = __float2half_rn(v);
  }
}

template <class T>
__global__ void add_bias_kernel(T *y, const float *bias, std::int64_t rows, std::int64_t cols) {
  allow_next_kernel();
  wait_for_previous_kernel();
  GPTQ_FOR_EACH(i, rows * cols) {
    if constexpr (sizeof(T) == 2)
      y[i] = __float2half_rn(__half2float(y[i]) + bias[i % cols]);
    else
      y[i] += bias[i % cols];
  }
}

// Blocks (row, part): a row's work — the q heads' pairs, then k's (into the
// cache), then v — is cut in gridDim.y parts, so that the few rows of a
// decode step still spread over the GPU.
__global__ void rope_store_kernel(__half *q, const __half *k, const __half *v, const float *inv_freq,
                                  std::int64_t seq, const std::int64_t *past, std::int64_t heads, std::int64_t kv_heads,
                                  std::int64_t head_dim, __half *k_cache, __half *v_cache, std::int64_t capacity) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const std::int64_t r = blockIdx.x, b = r / seq, pos = past[b] + r % seq;
  const std::int64_t half = head_dim / 2;
  const std::int64_t q_pairs = heads * half, k_pairs = kv_heads * half, v_count = kv_heads * head_dim;
  __half *qr = q + r * heads * head_dim;
  const __half *kr = k + r * kv_heads * head_dim;
  const __half *vr = v + r * kv_heads * head_dim;
  const std::int64_t step = static_cast<std::int64_t>(gridDim.y) * blockDim.x;
  for (std::int64_t t = blockIdx.y * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; t < q_pairs + k_pairs + v_count;
       t += step) {
    if (t < q_pairs + k_pairs) {
      const bool is_q = t < q_pairs;
      const std::int64_t p = is_q ? t : t - q_pairs;
      const std::int64_t h = p / half, i = p % half;
      const __half *src = is_q ? qr + h * head_dim : kr + h * head_dim;
      float x1 = __half2float(src[i]), x2 = __half2float(src[i + half]);
      if (inv_freq) {
        const float2 y = rope_rotate(x1, x2, pos, inv_freq[i]);
        x1 = y.x;
        x2 = y.y;
      }
      __half *dst = is_q ? qr + h * head_dim : k_cache + ((b * kv_heads + h) * capacity + pos) * head_dim;
      dst[i] = __float2half_rn(x1);
      dst[i + half] = __float2half_rn(x2);
    } else {
      const std::int64_t j = t - q_pairs - k_pairs, h = j / head_dim, d = j % head_dim;
      v_cache[((b * kv_heads + h) * capacity + pos) * head_dim + d] = vr[j];
    }
  }
}

__global__ void last_rows_kernel(const float *x, std::int64_t batch, std::int64_t seq, const std::int64_t *counts,
                                 std::int64_t width, float *out) {
  allow_next_kernel();
  wait_for_previous_kernel();
  GPTQ_FOR_EACH(i, batch * width) {
    const std::int64_t b = i / width, c = i % width;
    const std::int64_t valid = counts ? (counts[b] > 0 ? counts[b] : 1) : seq;
    out[i] = x[(b * seq + valid - 1) * width + c];
  }
}

}  // namespace

void embed_rows(const std::int32_t *ids, const __half *table, std::int64_t rows, std::int64_t width, __half *out,
                cudaStream_t stream) {
  // Not chained: what comes before it is the copy of its ids, and in a
  // captured decode step a programmatic edge may join kernels only.
  launch_chained(false, embed_rows_kernel, dim3(blocks_for(rows * width)), dim3(kThreads), 0, stream,
                 ids, table, rows, width, out);
}

void to_hidden(const __half *src, const __half *positions, std::int64_t rows, std::int64_t width, std::int64_t seq,
               const std::int64_t *past, std::int64_t offset, float *hidden, cudaStream_t stream) {
  launch_chained(to_hidden_kernel, dim3(blocks_for(rows * width)), dim3(kThreads), 0, stream,
                 src, positions, rows, width, seq, past, offset, hidden);
}

template <class Out>
void launch_norm(NormKind kind, float *x, const __half *add, const float *weight, const float *bias, double eps,
                 std::int64_t rows, std::int64_t width, Out *out, cudaStream_t stream) {
  launch_chained(norm_kernel<Out>, dim3(static_cast<unsigned>(rows)), dim3(norm_threads(width)), 0, stream,
                 kind == NormKind::Layer, x, add, weight, bias, static_cast<float>(eps), width, out);
}

void norm_rows(NormKind kind, const float *x, const float *weight, const float *bias, double eps, std::int64_t rows,
               std::int64_t width, __half *out, cudaStream_t stream) {
  // Without `add` the kernel only reads x.
  launch_norm(kind, const_cast<float *>(x), nullptr, weight, bias, eps, rows, width, out, stream);
}

void norm_rows(NormKind kind, const float *x, const float *weight, const float *bias, double eps, std::int64_t rows,
               std::int64_t width, float *out, cudaStream_t stream) {
  launch_norm(kind, const_cast<float *>(x), nullptr, weight, bias, eps, rows, width, out, stream);
}

void add_residual_norm(NormKind kind, float *hidden, const __half *y, const float *weight, const float *bias,
                       double eps, std::int64_t rows, std::int64_t width, __half *out, cudaStream_t stream) {
  launch_norm(kind, hidden, y, weight, bias, eps, rows, width, out, stream);
}

void to_half(const float *x, std::int64_t n, __half *out, cudaStream_t stream) {
  launch_chained(to_half_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, stream, x, n, out);
}

void to_float(const __half *x, std::int64_t n, float *out, cudaStream_t stream) {
  launch_chained(to_float_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, stream, x, n, out);
}

void add_residual(float *hidden, const __half *y, std::int64_t n, cudaStream_t stream) {
  launch_chained(add_residual_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, stream, hidden, y, n);
}

void activate(ActKind a, __half *gate, const __half *up, std::int64_t n, cudaStream_t stream) {
  launch_chained(activate_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, stream, a, gate, up, n);
}

void add_bias(__half *y, const float *bias, std::int64_t rows, std::int64_t cols, cudaStream_t stream) {
  launch_chained(add_bias_kernel<__half>, dim3(blocks_for(rows * cols)), dim3(kThreads), 0, stream,
                 y, bias, rows, cols);
}

void add_bias(float *y, const float *bias, std::int64_t rows, std::int64_t cols, cudaStream_t stream) {
  launch_chained(add_bias_kernel<float>, dim3(blocks_for(rows * cols)), dim3(kThreads), 0, stream, y, bias, rows, cols);
}

void rope_and_store_kv(__half *q, const __half *k, const __half *v, const float *inv_freq, std::int64_t batch,
                       std::int64_t seq, const std::int64_t *past, std::int64_t heads, std::int64_t kv_heads,
                       std::int64_t head_dim, __half *k_cache, __half *v_cache, std::int64_t capacity,
                       cudaStream_t stream) {
  const std::int64_t work = heads * head_dim / 2 + kv_heads * head_dim / 2 + kv_heads * head_dim;
  const dim3 grid(static_cast<unsigned>(batch * seq),
                  static_cast<unsigned>(std::min<std::int64_t>((work + kThreads - 1) / kThreads, 64)));
  launch_chained(rope_store_kernel, dim3(grid), dim3(kThreads), 0, stream,
                 q, k, v, inv_freq, seq, past, heads, kv_heads, head_dim, k_cache, v_cache, capacity);
}

void last_rows(const float *x, std::int64_t batch, std::int64_t seq, const std::int64_t *counts, std::int64_t width,
               float *out, cudaStream_t stream) {
  launch_chained(last_rows_kernel, dim3(blocks_for(batch * width)), dim3(kThreads), 0, stream,
                 x, batch, seq, counts, width, out);
}

}  // namespace gptq::cuda
