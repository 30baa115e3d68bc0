// The element-wise kernels around the Hessian's cuBLAS products
// (device_hessian.cpp): preparing activations, the finiteness check and the
// final scaling. Launches on `stream`; errors of the launch are thrown.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace gptq::cuda {

// y = x rounded to the nearest TF32 value (10 mantissa bits, ties to even):
// the tensor cores then see exactly these values, and the rounding errors of
// the products are unbiased (truncation would shrink every product).
void round_to_tf32(const float *x, float *y, std::size_t count, cudaStream_t stream);
// y = x in double (the fp64 Hessian).
void widen_to_double(const float *x, double *y, std::size_t count, cudaStream_t stream);

// *first = the smallest j whose C[j][j] is not finite (C is either c32 or
// c64, the other null), left as is when all are finite. *first must hold
// UINT64_MAX before.
void first_bad_diagonal(const float *c32, const double *c64, std::int64_t k, unsigned long long *first,
                        cudaStream_t stream);
// *first = the smallest index of a non-finite element of x (as above).
void first_non_finite(const float *x, std::size_t count, unsigned long long *first, cudaStream_t stream);

// h (k x k row-major, both triangles) = scale * C, where only C's upper part
// (column-major: element (a, b), a <= b, at b * k + a) was accumulated.
void scale_symmetric(const float *c32, const double *c64, std::int64_t k, double scale, float *h,
                     cudaStream_t stream);

}  // namespace gptq::cuda
