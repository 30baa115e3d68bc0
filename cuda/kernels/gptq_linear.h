// The DeviceLinear of a 4- or 8-bit GPTQ layer, or of several fused into one
// (gptq_repack.h's fuse_gptq: forward_parts writes each member's columns to
// its own buffer): its weights repacked once (gptq_repack.h) and uploaded,
// and the product that picks, per call, the
// register-streaming GEMV (m <= 64), the mma.sync GEMM (65..127 rows) or,
// from 128 rows, the weight dequantized to fp16 in chunks and multiplied by
// cuBLAS through the call's handle (which then needs a workspace of its own
// set with cublasSetWorkspace for the product to be captured in a graph).
#pragma once

#include <memory>

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

}  // namespace gptq::cuda
