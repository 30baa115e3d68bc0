// The DeviceLinear of a 4- or 8-bit GPTQ layer, or of several fused into one
// (gptq_repack.h's fuse_gptq: forward_parts writes each member's columns to
// its own buffer): its weights repacked once (gptq_repack.h) and uploaded,
// and the product that picks, per call, the register-streaming GEMV
// (m <= 64), the mma.sync GEMM (65..127 rows) or, from 128 rows, the weight
// dequantized to fp16 in chunks and multiplied by cuBLAS through the call's
// handle (which then needs a workspace of its own set with
// cublasSetWorkspace for the product to be captured in a graph). On Hopper
// (sm_90a) the warp-specialized wgmma kernel (gptq_wgmma_tma.h) takes every
// m from 17 rows of 4-bit layers with uniform groups, and the older wgmma
// kernel (gptq_wgmma.h) 33..128 rows of the others, where the H200 measured
// them ahead of the rest.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cuda/device_linear.h"
#include "cuda/kernels/gptq_repack.h"

namespace gptq::cuda {

// Repacks `w` and uploads it to the current device through `stream`
// (synchronized before returning: `w` may be freed then). Bits 4 and 8 only;
// anything else, or a bad field, throws std::invalid_argument naming it.
// Device failures throw CudaError.
std::unique_ptr<DeviceLinear> make_gptq_linear(const HostGptqLinear &w, cudaStream_t stream);

// The same from an already repacked layer (several copies of one layer, as
// the benchmark makes, repack once).
std::unique_ptr<DeviceLinear> make_gptq_linear(const GptqPacked &packed, cudaStream_t stream);

// A forced choice of kernel, for the tests and benchmarks that compare them
// (the runtime uses the default, which picks per call).
struct LinearTuning {
  enum class Path {
    kAuto,      // by m, as above
    kPortable,  // the kernels of every GPU: never wgmma
    kWgmma,     // the wgmma kernel for every m (where wgmma is usable; else kAuto)
  };
  Path path = Path::kAuto;
  int wgmma_config = -1;  // kWgmma: index into kernels::kWgmmaConfigs; -1 picks by m
  int splits = 0;         // kWgmma: splits of K over blocks; 0 picks by the grid
};
std::unique_ptr<DeviceLinear> make_gptq_linear(const GptqPacked &packed, cudaStream_t stream,
                                               const LinearTuning &tuning);

// Which kernel a product of m rows runs on a linear made above ("gemv",
// "gemm", "dequantize + cublas", "wgmma N" with N its kernels::kWgmmaConfigs
// index, then " x S splits" when K is split), or "" for another kind of
// linear: for tests that must know which kernel they checked.
std::string gptq_linear_kernel(const DeviceLinear &linear, std::int64_t m);

}  // namespace gptq::cuda
