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

// batch_rows: 16, 32, 64, 128 or 256 per block; 128 weight rows per block. p.x
// 16-byte aligned with p.ldx a multiple of 8 (the activations' tensor map).
void launch_wgmma_tma(int batch_rows, const PackedWeights &w, const Product &p, cudaStream_t stream);
// Raises the kernel's dynamic shared-memory limit on the current device.
void prepare_wgmma_tma();

}  // namespace gptq::cuda::kernels
