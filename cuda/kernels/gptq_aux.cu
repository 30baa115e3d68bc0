// The two small kernels around the products: the activations into the
// repacked column order (act-order, padded K, a misaligned row), and the
// in-order sum of split-K partial sums.
#include "cuda/cuda_check.h"
#include "cuda/kernels/gptq_kernels.h"

namespace gptq::cuda::kernels {
namespace {

__global__ void permute_kernel(const __half *x, int m, int k, const int *perm, int k_pad, __half *xw) {
  const int kk = blockIdx.x * blockDim.x + threadIdx.x;
  if (kk >= k_pad) return;
  const int src = perm ? perm[kk] : (kk < k ? kk : -1);
  for (int r = blockIdx.y; r < m; r += gridDim.y)
    xw[static_cast<std::size_t>(r) * k_pad + kk] =
        src >= 0 ? x[static_cast<std::size_t>(r) * k + src] : __float2half_rn(0.0f);
}

__global__ void reduce_kernel(const float *partial, int splits, int m, int n, const float *bias, __half *y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const std::size_t total = static_cast<std::size_t>(m) * n;
  if (static_cast<std::size_t>(i) >= total) return;
  float v = 0.0f;
  for (int s = 0; s < splits; ++s) v += partial[s * total + i];
  if (bias) v += bias[i % n];
  y[i] = __float2half_rn(v);
}

}  // namespace

ConstsLimits prepare_kernels(int bits) {
  int device = 0, optin = 0;
  GPTQ_CUDA_CHECK(cudaGetDevice(&device));
  GPTQ_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  ConstsLimits limits;
  prepare_gemv(bits, optin, limits.gemv);
  limits.gemm = prepare_gemm(bits, optin);
  return limits;
}

void launch_permute(const __half *x, int m, int k, const int *perm, int k_pad, __half *xw,
                    cudaStream_t stream) {
  const dim3 grid((k_pad + 255) / 256, m < 1024 ? m : 1024);
  permute_kernel<<<grid, 256, 0, stream>>>(x, m, k, perm, k_pad, xw);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

void launch_reduce_splits(const float *partial, int splits, int m, int n, const float *bias,
                          __half *y, cudaStream_t stream) {
  const long long total = static_cast<long long>(m) * n;
  reduce_kernel<<<static_cast<unsigned>((total + 255) / 256), 256, 0, stream>>>(partial, splits, m, n, bias, y);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

}  // namespace gptq::cuda::kernels
