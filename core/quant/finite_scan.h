// Where the first NaN or infinity of a float array is, scanned on threads.
// The solver checks its inputs before any work (weights and Hessians: tens of
// MB each; a batch of activations only once H's diagonal showed it bad, to
// name the element), and a plain element-by-element scan on one thread is
// memory-bound at a few GB/s. Here each thread scans a slice with the
// one-thread scan of core/tensor/finite_scan.h, stopping at the slice with
// the first bad element.
#pragma once

#include <cstddef>
#include <optional>

#include "core/cpu/compute.h"

namespace gptq::quant {

// The index of the first non-finite element of x[0, n), or nullopt.
std::optional<std::size_t> first_non_finite(const Compute &compute, const float *x, std::size_t n);

}  // namespace gptq::quant
