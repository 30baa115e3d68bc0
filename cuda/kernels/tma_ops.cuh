// Hopper's asynchronous copies into shared memory (sm_90) as the
// warp-specialized kernels use them: mbarriers that count arrivals and
// bytes, the tensor-memory-accelerator (TMA) loads of 2D and 3D boxes, the
// per-warpgroup register budget, and the thread-block cluster's barrier and
// reads of another block's shared memory. Outside
// sm_90a the helpers are empty (wgmma_ops.cuh's GPTQ_WGMMA_BUILT): the
// kernels compile for every architecture and run only where wgmma_usable().
#pragma once

#include <cstdint>

#include "cuda/kernels/wgmma_ops.cuh"

namespace gptq::cuda::kernels {

__device__ __forceinline__ std::uint32_t smem_addr(const void *p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void mbar_init(std::uint64_t *bar, int count) {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(count) : "memory");
#endif
}

// After the barriers are initialized, before the block's barrier that
// publishes them: the async proxy (TMA, bulk copies) must see them too.
__device__ __forceinline__ void mbar_init_fence() {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("fence.mbarrier_init.release.cluster;\nfence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// One arrival that also expects `bytes` more to land through complete_tx.
__device__ __forceinline__ void mbar_arrive_expect_tx(std::uint64_t *bar, std::uint32_t bytes) {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(bytes)
               : "memory");
#endif
}

__device__ __forceinline__ void mbar_arrive(std::uint64_t *bar) {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_addr(bar)) : "memory");
#endif
}

// Until the barrier's phase of this parity has completed.
__device__ __forceinline__ void mbar_wait(std::uint64_t *bar, std::uint32_t parity) {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile(
      "{\n.reg .pred done;\n"
      "WAIT:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT;\n"
      "}\n" ::"r"(smem_addr(bar)),
      "r"(parity)
      : "memory");
#endif
}

// The box of a 2D tensor map at element coordinates (c0 innermost, c1) into
// shared memory; its bytes complete on `bar`. Rows past the tensor's end
// arrive as zeros and count as bytes.
__device__ __forceinline__ void tma_load_2d(void *dst, const void *tensor_map, int c0, int c1, std::uint64_t *bar) {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(
          smem_addr(dst)),
      "l"(reinterpret_cast<std::uint64_t>(tensor_map)), "r"(c0), "r"(c1), "r"(smem_addr(bar))
      : "memory");
#endif
}

// The same for a 3D tensor map at (c0, c1, c2).
__device__ __forceinline__ void tma_load_3d(void *dst, const void *tensor_map, int c0, int c1, int c2,
                                            std::uint64_t *bar) {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], "
      "[%5];\n" ::"r"(smem_addr(dst)),
      "l"(reinterpret_cast<std::uint64_t>(tensor_map)), "r"(c0), "r"(c1), "r"(c2), "r"(smem_addr(bar))
      : "memory");
#endif
}

// The warpgroup's registers per thread from here on (a multiple of 8): the
// copy warpgroup gives some up, the MMA warpgroups take them.
template <int N>
__device__ __forceinline__ void regs_shrink() {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N));
#endif
}
template <int N>
__device__ __forceinline__ void regs_grow() {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N));
#endif
}

// The block's rank in its cluster (x fastest, then y, then z).
__device__ __forceinline__ std::uint32_t cluster_rank() {
  std::uint32_t r = 0;
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
#endif
  return r;
}

// Every thread of every block of the cluster: what a thread wrote to shared
// memory before it is seen by the reads of any block's shared memory after
// it (release / acquire). Every thread of the cluster must arrive, so no
// warp may have left the kernel before.
__device__ __forceinline__ void cluster_sync() {
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("barrier.cluster.arrive.release;\nbarrier.cluster.wait.acquire;\n" ::: "memory");
#endif
}

// The address of `p` (in this block's shared memory) in the shared memory
// of block `rank` of the cluster: the same variable of that block.
__device__ __forceinline__ std::uint32_t cluster_smem_addr(const void *p, std::uint32_t rank) {
  std::uint32_t a = 0;
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(a) : "r"(smem_addr(p)), "r"(rank));
#endif
  return a;
}

// 16 bytes of a cluster block's shared memory (an address from
// cluster_smem_addr).
__device__ __forceinline__ float4 cluster_load_f4(std::uint32_t addr) {
  float4 v{0.0f, 0.0f, 0.0f, 0.0f};
#ifdef GPTQ_WGMMA_BUILT
  asm volatile("ld.shared::cluster.v4.f32 {%0, %1, %2, %3}, [%4];\n"
               : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w)
               : "r"(addr)
               : "memory");
#endif
  return v;
}

}  // namespace gptq::cuda::kernels
