// The Hopper (sm_90a) wgmma products: gptq_wgmma.cu's kernel (every
// layer; GptqLinear runs it for 33..128 rows of the layers the other does
// not take; about 0.35x cuBLAS fp16 from 1024 rows, TUNING.md says why) and
// gptq_wgmma_tma.cu's warp-specialized one (4-bit, uniform groups; from 17
// rows). This header: which tile shapes they have and how to launch one;
// kernels::Product describes the call as for the other kernels
// (consts_smem, x_smem, n_blocks and pdl unused).
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
  // gptq_wgmma_tma.cu's warp-specialized kernel (a copy warp feeding two
  // MMA warpgroups through TMA): 128 weight rows and 64 / 128 / 256 / 32 /
  // 16 batch rows; 4-bit weights with uniform groups only (the others take
  // kN64R2 / kN128R2 / kN256R2 / kN32K4 / kN32K4 instead: wgmma_config_for).
  kTmaN64,
  kTmaN128,
  kTmaN256,
  kTmaN32,
  kTmaN16,
};
constexpr WgmmaConfig kWgmmaConfigs[] = {WgmmaConfig::kN32K4,   WgmmaConfig::kN64K4,   WgmmaConfig::kN128R2,
                                         WgmmaConfig::kN64R2,   WgmmaConfig::kN256R2,  WgmmaConfig::kTmaN64,
                                         WgmmaConfig::kTmaN128, WgmmaConfig::kTmaN256, WgmmaConfig::kTmaN32,
                                         WgmmaConfig::kTmaN16};

struct WgmmaGeometry {
  int batch_rows = 0;   // per block
  int weight_rows = 0;  // per block (a multiple of 16: n-tiles)
  int k_slices = 0;     // warpgroups over K inside a block
};
WgmmaGeometry wgmma_geometry(WgmmaConfig c);

// The warp-specialized kernel's shapes (kTma*): activations read by TMA
// (16-byte aligned rows, a stride a multiple of 8 halves); splits of K
// summed in a cluster unless Product::partial is given (gptq_wgmma_tma.h).
inline bool wgmma_uses_tma(WgmmaConfig c) {
  return c == WgmmaConfig::kTmaN16 || c == WgmmaConfig::kTmaN32 || c == WgmmaConfig::kTmaN64 ||
         c == WgmmaConfig::kTmaN128 || c == WgmmaConfig::kTmaN256;
}

// The shape that runs for `c` on a layer of these bits and
// GptqPacked::tile_group_shift: c itself, or for a kTma* shape that does not
// take the layer the older kernel's shape of the same tile.
WgmmaConfig wgmma_config_for(WgmmaConfig c, int bits, int tile_group_shift);

// Whether the current device runs the wgmma kernels: compute capability 9.0
// and this library built with sm_90a code (a probe kernel says which code
// the device runs).
bool wgmma_usable();
// Raises the kernels' dynamic shared-memory limits on the current device.
void prepare_wgmma(int bits);
void launch_wgmma(WgmmaConfig c, const PackedWeights &w, const Product &p, cudaStream_t stream);

}  // namespace gptq::cuda::kernels
