// Widening stored tensor elements to float32: checkpoint weights are fp16,
// bf16 or fp32 (little-endian, not necessarily aligned in a mapped file),
// while the solver and the CPU reference work in float32.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "core/tensor/dtype.h"

namespace gptq {

// Whether to_float accepts the dtype (F32, F16, BF16, F64).
bool is_float_dtype(DType dtype) noexcept;

// Converts bytes.size() / dtype_size(dtype) elements into `out` (which must
// hold exactly that many). Throws InvalidArgument for a dtype that is not a
// float type, or sizes that do not match.
void to_float(DType dtype, std::span<const std::byte> bytes, std::span<float> out);

// The same into a new vector.
std::vector<float> to_float(DType dtype, std::span<const std::byte> bytes);

}  // namespace gptq
