// The device linear of a GPTQ layer: the one place that picks its kernel by
// bit width. make_dequantized_linear is the generic, correct path for every
// width: dequantized on the host to fp16 (w = scale * (code - zero), as the
// CPU engine's fp32 weight, then rounded) and multiplied by cuBLAS.
#pragma once

#include <memory>
#include <string>

#include "cuda/device_linear.h"

namespace gptq::cuda {

// Whether GPTQ layers of `bits` run the int4/int8 kernels (cuda/kernels/),
// and so may be fused with others (kernels/gptq_repack.h's fuse_gptq).
inline bool has_gptq_kernel(int bits) { return bits == 4 || bits == 8; }

// The checks every GPTQ layer passes before it is uploaded (InvalidArgument
// naming `what` and the field).
void check_gptq_linear(const HostGptqLinear &linear, const std::string &what);

std::unique_ptr<DeviceLinear> make_dequantized_linear(const HostGptqLinear &linear, const std::string &what);

// What a GPTQ layer runs with (`what` names it in errors).
std::unique_ptr<DeviceLinear> make_linear(const HostGptqLinear &linear, cudaStream_t stream, const std::string &what);

}  // namespace gptq::cuda
