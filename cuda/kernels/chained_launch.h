// Programmatic dependent launch (sm_90) for every kernel of a forward pass.
// A kernel launched chained may start while the previous kernel of its
// stream is still running: it does what needs nothing from that kernel
// (the GEMV streams its weights, which nothing writes) and then waits in
// wait_for_previous_kernel(). Between the small kernels of a decode step
// (norms, RoPE, attention, activations) and the GEMVs this hides the launch
// and ramp of each kernel behind the tail of the one before.
//
// The rule that keeps the chain ordered: a kernel launched with
// launch_chained calls wait_for_previous_kernel() on every path before it
// reads anything an earlier kernel wrote or writes anything an earlier
// kernel reads. Its completion then implies its predecessor's, and so on
// down the stream, so the kernel after it (chained or not) sees everything
// before it finished. A kernel that never waits must not be launched chained.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "cuda/cuda_check.h"

namespace gptq::cuda {

#ifdef __CUDACC__
// Blocks until the previous kernel of the stream has finished and its
// writes are visible (a no-op below sm_90, where launches are not chained).
__device__ __forceinline__ void wait_for_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

// Lets the next kernel of the stream be launched once every block of this
// one has called it (or exited); its blocks are placed as this one's leave
// room. Safe anywhere: the next kernel waits for this one's completion
// before it touches what this one writes.
__device__ __forceinline__ void allow_next_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}
#endif  // __CUDACC__

// Whether launch_chained chains on the current device: compute capability
// 9.0 or more, unless the environment says GPTQ_CHAINED_LAUNCH=0
// (cuda/env_switch.h: read at each launch; for measuring what chaining is
// worth, and as a way out).
bool chained_launch_enabled();

// A failed launch: a CudaError naming the kernel and its launch shape.
[[noreturn]] void throw_launch_error(cudaError_t status, const void *kernel, dim3 grid, dim3 block,
                                     std::size_t smem);

// kernel<<<grid, block, smem, stream>>>(args...), chained when `chain` (see
// the rule above). Throws CudaError when the launch fails (a checked call
// for the failure injection of cuda/device_memory.h, as GPTQ_CUDA_CHECK).
template <class... Params, class... Args>
void launch_chained(bool chain, void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t smem,
                    cudaStream_t stream, Args &&...args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = chain ? 1 : 0;
  if (injected_check_failure()) throw_injected_failure("cudaLaunchKernelEx", __FILE__, __LINE__);
  const cudaError_t status = cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
  if (status != cudaSuccess) throw_launch_error(status, reinterpret_cast<const void *>(kernel), grid, block, smem);
}

// launch_chained on the current device's choice (chained_launch_enabled()).
template <class... Params, class... Args>
void launch_chained(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream,
                    Args &&...args) {
  launch_chained(chained_launch_enabled(), kernel, grid, block, smem, stream, std::forward<Args>(args)...);
}

}  // namespace gptq::cuda
