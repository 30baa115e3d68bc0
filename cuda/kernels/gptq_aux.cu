// The two small kernels around the products: the activations into the
// repacked column order (act-order, padded K, a misaligned row), and the
// in-order sum of split-K partial sums; both chained (chained_launch.cuh) to
// the product beside them. And the dequantization for cuBLAS (many rows).
#include "cuda/cuda_check.h"
#include "cuda/kernels/gptq_device.cuh"

namespace gptq::cuda::kernels {
namespace {

__global__ void permute_kernel(const __half *x, int m, int k, const int *perm, int k_pad, __half *xw) {
  wait_for_previous_kernel();  // launched chained: x comes from it
  allow_next_kernel();
  const int kk = blockIdx.x * blockDim.x + threadIdx.x;
  if (kk >= k_pad) return;
  const int src = perm ? perm[kk] : (kk < k ? kk : -1);
  for (int r = blockIdx.y; r < m; r += gridDim.y)
    xw[static_cast<std::size_t>(r) * k_pad + kk] =
        src >= 0 ? x[static_cast<std::size_t>(r) * k + src] : __float2half_rn(0.0f);
}

__global__ void reduce_kernel(const float *partial, int splits, int m, int n, const float *bias,
                              const OutParts out) {
  wait_for_previous_kernel();  // launched chained: the partial sums come from it
  allow_next_kernel();
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const std::size_t total = static_cast<std::size_t>(m) * n;
  if (static_cast<std::size_t>(i) >= total) return;
  __half *y = out_slot(out, i / n, i % n);
  if (!y) return;
  float v = 0.0f;
  for (int s = 0; s < splits; ++s) v += partial[s * total + i];
  if (bias) v += bias[i % n];
  *y = __float2half_rn(v);
}

// One warp per (n-tile, k-tile): the lane's words through the same
// dequantization as the products (so the fp16 weights are bit for bit what
// the kernels multiply by), written as rows g and g + 8, columns 16t..16t+15.
template <int BITS>
__global__ void dequant_kernel(const PackedWeights w, int n0, int rows, __half *out) {
  constexpr int kUpl = BITS / 4;
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const long long tile = blockIdx.x * (blockDim.x / 32LL) + threadIdx.x / 32;
  const int tiles_n = (rows + 15) / 16;
  if (tile >= static_cast<long long>(tiles_n) * w.k_tiles) return;
  const int nt = n0 / 16 + static_cast<int>(tile / w.k_tiles), kt = static_cast<int>(tile % w.k_tiles);
  uint4 q[kUpl];
#pragma unroll
  for (int u = 0; u < kUpl; ++u)
    q[u] = load_stream(w.qweight + (static_cast<std::size_t>(nt) * w.k_tiles + kt) * 32 * kUpl + lane * kUpl + u);
  const int at = (nt * w.groups + w.chunk_group[kt * 4 + t]) * 8 + g;
  std::uint32_t a[4][4];
  dequant_tile<BITS>(q, make_group_const<BITS>(w.scales[at], w.zeros != nullptr, w.zeros ? w.zeros[at] : as_h2(0u)), a);
  const int k_pad = w.k_tiles * 64;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = nt * 16 + g + 8 * h - n0;
    if (r >= rows) continue;
    uint4 *dst = reinterpret_cast<uint4 *>(out + static_cast<std::size_t>(r) * k_pad + kt * 64 + 16 * t);
    dst[0] = make_uint4(a[0][h], a[0][h + 2], a[1][h], a[1][h + 2]);
    dst[1] = make_uint4(a[2][h], a[2][h + 2], a[3][h], a[3][h + 2]);
  }
}

}  // namespace

void launch_dequant(const PackedWeights &w, int n0, int rows, __half *out, cudaStream_t stream) {
  const long long tiles = static_cast<long long>((rows + 15) / 16) * w.k_tiles;
  const unsigned blocks = static_cast<unsigned>((tiles + 7) / 8);
  if (w.bits == 4)
    dequant_kernel<4><<<blocks, 256, 0, stream>>>(w, n0, rows, out);
  else
    dequant_kernel<8><<<blocks, 256, 0, stream>>>(w, n0, rows, out);
  GPTQ_CUDA_CHECK(cudaGetLastError());
}

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
  launch_chained(permute_kernel, grid, dim3(256), 0, stream, x, m, k, perm, k_pad, xw);
}

void launch_reduce_splits(const float *partial, int splits, int m, int n, const float *bias,
                          const OutParts &out, cudaStream_t stream) {
  const long long total = static_cast<long long>(m) * n;
  launch_chained(reduce_kernel, dim3(static_cast<unsigned>((total + 255) / 256)), dim3(256), 0, stream, partial, splits,
                 m, n, bias, out);
}

}  // namespace gptq::cuda::kernels
