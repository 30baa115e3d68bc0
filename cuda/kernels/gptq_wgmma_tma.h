// The warp-specialized wgmma product of gptq_wgmma_tma.cu (sm_90a): 4-bit
// weights with uniform groups (PackedWeights::tile_group_shift >= 0) only.
// gptq_wgmma.h lists it among the wgmma tile shapes (kTma*); this header is
// its launcher's, for gptq_wgmma.cu.
#pragma once

#include <cuda_runtime.h>

#include "cuda/kernels/gptq_kernels.h"

namespace gptq::cuda::kernels {

// Whether the kernel takes this layer (4-bit, uniform groups).
inline bool wgmma_tma_takes(const PackedWeights &w) { return w.bits == 4 && w.tile_group_shift >= 0; }

// Splits of K: without p.partial a tile's splits run as one thread-block
// cluster and sum their tiles through each other's shared memory (no
// reduce_splits), and a cluster has at most 8 blocks; with p.partial each
// split writes its fp32 sums there, as the other kernels do.
constexpr int kWgmmaTmaMaxSplits = 8;

// batch_rows: 16, 32, 64, 128 or 256 per block; 128 weight rows per block. p.x
// 16-byte aligned with p.ldx a multiple of 8 (the activations' tensor map);
// without p.partial, p.splits 1..kWgmmaTmaMaxSplits.
void launch_wgmma_tma(int batch_rows, const PackedWeights &w, const Product &p, cudaStream_t stream);
// Whether `tiles` clusters of `splits` blocks (<= kWgmmaTmaMaxSplits) all
// run at once on the current device (cudaOccupancyMaxActiveClusters:
// clusters are placed within a GPC, so fewer blocks fit as clusters than
// SMs; on the H200, 32 clusters of 4 did not).
bool wgmma_tma_clusters_fit(int batch_rows, int tiles, int splits);
// Raises the kernel's dynamic shared-memory limit on the current device.
void prepare_wgmma_tma();

}  // namespace gptq::cuda::kernels
