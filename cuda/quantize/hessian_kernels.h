// The element-wise kernels around the Hessian's cuBLAS products
// (device_hessian.cpp): preparing activations, the finiteness check and the
// final scaling. Launches on `stream`; errors of the launch are thrown.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace gptq::cuda {

// The bf16 split of m rows of x ([m][k] fp32): x = hi + lo + r with hi =
// bf16(x), lo = bf16(x - hi) (both rounded to nearest) and |r| <= 2^-16 |x|.
// z (4m rows of k, bf16 bits) = [lo; hi; hi; lo], so one product of rows
// [m, 4m) by rows [0, 3m) sums hi*hi + hi*lo + lo*hi (bf16x3): fp32's
// accuracy from the bf16 tensor cores.
void split_bf16(const float *x, std::int64_t m, std::int64_t k, std::uint16_t *z, cudaStream_t stream);
// z = x as fp16 bits (exact for fp16 values widened to fp32).
void to_half_bits(const float *x, std::size_t count, std::uint16_t *z, cudaStream_t stream);
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
