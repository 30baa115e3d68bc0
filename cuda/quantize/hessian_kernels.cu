#include "cuda/quantize/hessian_kernels.h"

#include "cuda/cuda_check.h"

namespace gptq::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(std::size_t count) {
  const std::size_t b = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65535u * 16u ? b : 65535u * 16u);  // grid-stride beyond
}

__global__ void round_tf32_kernel(const float *x, float *y, std::size_t count) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    unsigned u = __float_as_uint(x[i]);
    if ((u & 0x7f800000u) != 0x7f800000u) {  // leave Inf and NaN alone: the check finds them
      u += 0x0fffu + ((u >> 13) & 1u);
      u &= 0xffffe000u;
    }
    y[i] = __uint_as_float(u);
  }
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

void round_to_tf32(const float *x, float *y, std::size_t count, cudaStream_t stream) {
  if (count == 0) return;
  round_tf32_kernel<<<blocks_for(count), kThreads, 0, stream>>>(x, y, count);
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
