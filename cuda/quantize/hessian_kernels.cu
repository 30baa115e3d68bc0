#include "cuda/quantize/hessian_kernels.h"

#include <cuda_fp16.h>

#include "cuda/cuda_check.h"

namespace gptq::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(std::size_t count) {
  const std::size_t b = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65535u * 16u ? b : 65535u * 16u);  // grid-stride beyond
}

__device__ __forceinline__ std::uint16_t bf16_rn(float v) {
  unsigned u = __float_as_uint(v);
  if ((u & 0x7f800000u) != 0x7f800000u) u += 0x7fffu + ((u >> 16) & 1u);  // Inf and NaN kept: the check finds them
  else if (u & 0x007fffffu) u |= 0x00400000u;                              // a NaN stays a NaN
  return static_cast<std::uint16_t>(u >> 16);
}

__global__ void split_bf16_kernel(const float *x, std::int64_t m, std::int64_t k, std::uint16_t *z) {
  const std::size_t count = static_cast<std::size_t>(m) * static_cast<std::size_t>(k);
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const float v = x[i];
    const std::uint16_t hi = bf16_rn(v);
    const std::uint16_t lo = bf16_rn(v - __uint_as_float(static_cast<unsigned>(hi) << 16));
    z[i] = lo;
    z[count + i] = hi;
    z[2 * count + i] = hi;
    z[3 * count + i] = lo;
  }
}

__global__ void to_half_bits_kernel(const float *x, std::size_t count, std::uint16_t *z) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    z[i] = __half_as_ushort(__float2half_rn(x[i]));
}

__global__ void widen_kernel(const float *x, double *y, std::size_t count) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    y[i] = static_cast<double>(x[i]);
}

__global__ void bad_diagonal_kernel(const float *c32, const double *c64, std::int64_t k, unsigned long long *first) {
  const std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (j >= k) return;
  const double d = c64 ? c64[j * k + j] : static_cast<double>(c32[j * k + j]);
  if (!isfinite(d)) atomicMin(first, static_cast<unsigned long long>(j));
}

__global__ void non_finite_kernel(const float *x, std::size_t count, unsigned long long *first) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    if (!isfinite(x[i])) atomicMin(first, static_cast<unsigned long long>(i));
}

// One thread per (i, j) of the output; reads C's upper element (min, max).
__global__ void scale_symmetric_kernel(const float *c32, const double *c64, std::int64_t k, double scale, float *h) {
  const std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (j >= k) return;
  for (std::int64_t i = blockIdx.y; i < k; i += gridDim.y) {
    const std::int64_t a = i < j ? i : j, b = i < j ? j : i;
    const double c = c64 ? c64[b * k + a] : static_cast<double>(c32[b * k + a]);
    h[i * k + j] = static_cast<float>(scale * c);
  }
}

}  // namespace

void split_bf16(const float *x, std::int64_t m, std::int64_t k, std::uint16_t *z, cudaStream_t stream) {
  const std::size_t count = static_cast<std::size_t>(m) * static_cast<std::size_t>(k);
  if (count == 0) return;
  split_bf16_kernel<<<blocks_for(count), kThreads, 0, stream>>>(x, m, k, z);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void to_half_bits(const float *x, std::size_t count, std::uint16_t *z, cudaStream_t stream) {
  if (count == 0) return;
  to_half_bits_kernel<<<blocks_for(count), kThreads, 0, stream>>>(x, count, z);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void widen_to_double(const float *x, double *y, std::size_t count, cudaStream_t stream) {
  if (count == 0) return;
  widen_kernel<<<blocks_for(count), kThreads, 0, stream>>>(x, y, count);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void first_bad_diagonal(const float *c32, const double *c64, std::int64_t k, unsigned long long *first,
                        cudaStream_t stream) {
  bad_diagonal_kernel<<<static_cast<unsigned>((k + kThreads - 1) / kThreads), kThreads, 0, stream>>>(c32, c64, k,
                                                                                                      first);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void first_non_finite(const float *x, std::size_t count, unsigned long long *first, cudaStream_t stream) {
  if (count == 0) return;
  non_finite_kernel<<<blocks_for(count), kThreads, 0, stream>>>(x, count, first);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void scale_symmetric(const float *c32, const double *c64, std::int64_t k, double scale, float *h,
                     cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((k + kThreads - 1) / kThreads), static_cast<unsigned>(k < 65535 ? k : 65535));
  scale_symmetric_kernel<<<grid, kThreads, 0, stream>>>(c32, c64, k, scale, h);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

}  // namespace gptq::cuda
