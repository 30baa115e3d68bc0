// The Hopper (sm_90a) wgmma product of gptq_wgmma.cu. GptqLinear runs it for
// 33..128 rows, where the H200 measured it ahead of the other kernels; it
// is still far from its bound (TUNING.md says where its time goes: about
// 0.35x cuBLAS fp16 from 1024 rows). This header: which tile shapes it has
// and how to launch one; kernels::Product describes the call as for the
// other kernels (consts_smem, x_smem, n_blocks and pdl unused).
#pragma once

#include <cuda_runtime.h>

#include "cuda/kernels/gptq_kernels.h"

namespace gptq::cuda::kernels {

// Tile shapes: batch rows per block, weight rows per block, and the
// warpgroups that share those rows over interleaved k-tiles.
enum class WgmmaConfig {
  kN32K4,   // 32 batch rows, 64 weight rows, 4 warpgroups over K (512 threads)
  kN64K4,   // 64 batch rows, 64 weight rows, 4 over K (512 threads)
  kN128R2,  // 128 batch rows, 128 weight rows (two warpgroups of 64)
  kN64R2,   // 64 batch rows, 128 weight rows
  kN256R2,  // 256 batch rows, 128 weight rows
};
constexpr WgmmaConfig kWgmmaConfigs[] = {WgmmaConfig::kN32K4, WgmmaConfig::kN64K4, WgmmaConfig::kN128R2,
                                         WgmmaConfig::kN64R2, WgmmaConfig::kN256R2};

struct WgmmaGeometry {
  int batch_rows = 0;   // per block
  int weight_rows = 0;  // per block (a multiple of 16: n-tiles)
  int k_slices = 0;     // warpgroups over K inside a block
};
WgmmaGeometry wgmma_geometry(WgmmaConfig c);

// Whether the current device runs the wgmma kernels: compute capability 9.0
// and this library built with sm_90a code (a probe kernel says which code
// the device runs).
bool wgmma_usable();
// Raises the kernels' dynamic shared-memory limits on the current device.
void prepare_wgmma(int bits);
void launch_wgmma(WgmmaConfig c, const PackedWeights &w, const Product &p, cudaStream_t stream);

}  // namespace gptq::cuda::kernels
