// The rotary position embedding of one pair of dimensions (rotate-half:
// dimensions i and i + head_dim / 2), shared by the kernels that rotate
// (rope_and_store_kv's, and decode attention's when it takes the step's new
// rows): the angle is position * inv_freq in fp32, and no product is fused
// into an add, so that every kernel gives the same bits for the same pair.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace gptq::cuda {

__device__ __forceinline__ float2 rope_rotate(float x1, float x2, std::int64_t pos, float inv_freq) {
  const float angle = __fmul_rn(static_cast<float>(pos), inv_freq);
  const float c = cosf(angle), s = sinf(angle);
  return make_float2(__fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s)), __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s)));
}

}  // namespace gptq::cuda
