// What the CUDA benchmarks share: seeded random fp16 fill, a device array,
// the median time of a CUDA graph of calls, and the device-to-device copy
// bandwidth every "limit" is measured against (BENCH.md). Header-only: each
// benchmark is one .cu file.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/device_memory.h"

namespace gptq::bench {

constexpr int kReps = 25;  // timed replays per figure (median)

__global__ void fill_random_half(__half *p, std::size_t n, std::uint32_t seed, float scale) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    std::uint32_t h = static_cast<std::uint32_t>(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    p[i] = __float2half_rn(scale * (static_cast<float>(h & 0xffff) / 32768.0f - 1.0f));
  }
}

// Median time of one call, in microseconds: `body` enqueues `calls` calls on
// `stream`; they are captured once into a graph that is replayed.
template <class Body>
double time_graph(cudaStream_t stream, int calls, Body body) {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  GPTQ_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  body();
  GPTQ_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  GPTQ_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  cudaEvent_t a, b;
  GPTQ_CUDA_CHECK(cudaEventCreate(&a));
  GPTQ_CUDA_CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) GPTQ_CUDA_CHECK(cudaGraphLaunch(exec, stream));
  std::vector<float> ms(kReps);
  for (int i = 0; i < kReps; ++i) {
    GPTQ_CUDA_CHECK(cudaEventRecord(a, stream));
    GPTQ_CUDA_CHECK(cudaGraphLaunch(exec, stream));
    GPTQ_CUDA_CHECK(cudaEventRecord(b, stream));
    GPTQ_CUDA_CHECK(cudaEventSynchronize(b));
    GPTQ_CUDA_CHECK(cudaEventElapsedTime(&ms[static_cast<std::size_t>(i)], a, b));
  }
  std::sort(ms.begin(), ms.end());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  return 1000.0 * ms[kReps / 2] / calls;
}

__global__ void copy_kernel(const uint4 *__restrict__ src, uint4 *__restrict__ dst, std::size_t n) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x)
    dst[i] = src[i];
}

// Device-to-device copy of 1 GiB, counting bytes read + written, in GB/s;
// a graph of 8 copies, so that the clocks are up (the idle GPU starts at a
// fraction of its SM clock).
inline double copy_bandwidth(cudaStream_t stream) {
  const std::size_t bytes = std::size_t{1} << 30;
  cuda::DeviceArray<char> src(bytes, "copy source"), dst(bytes, "copy destination");
  GPTQ_CUDA_CHECK(cudaMemsetAsync(src.get(), 1, bytes, stream));
  const double us_memcpy = time_graph(stream, 8, [&] {
    for (int i = 0; i < 8; ++i)
      GPTQ_CUDA_CHECK(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, stream));
  });
  // A copy kernel too: a memcpy node of a graph may run on a copy engine,
  // slower than the SMs' own loads and stores.
  const double us_kernel = time_graph(stream, 8, [&] {
    for (int i = 0; i < 8; ++i) copy_kernel<<<132 * 16, 256, 0, stream>>>(
        reinterpret_cast<const uint4 *>(src.get()), reinterpret_cast<uint4 *>(dst.get()), bytes / 16);
  });
  std::printf("copy 1 GiB: cudaMemcpyAsync %.0f GB/s, copy kernel %.0f GB/s (read + write)\n",
              2.0 * static_cast<double>(bytes) / (us_memcpy * 1e3), 2.0 * static_cast<double>(bytes) / (us_kernel * 1e3));
  return 2.0 * static_cast<double>(bytes) / (std::min(us_memcpy, us_kernel) * 1e3);
}

}  // namespace gptq::bench
