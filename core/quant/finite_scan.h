// Where the first NaN or infinity of a float array is, scanned on threads.
// Every input of the solver is checked before any work (weights, Hessians,
// batches of activations: tens of MB each), and a plain element-by-element
// scan on one thread is memory-bound at a few GB/s — on 16 cores it took as
// long as the Hessian update it guarded. Here each thread scans a slice with
// a branch-free test per element (it vectorizes), stopping at the slice
// with the first bad element.
#pragma once

#include <cstddef>
#include <optional>

namespace gptq::quant {

// The index of the first non-finite element of x[0, n), or nullopt. threads:
// 0 = one per core.
std::optional<std::size_t> first_non_finite(const float *x, std::size_t n, int threads);

}  // namespace gptq::quant
