// Where the first NaN or infinity of a float array is, on the calling thread.
// Each stripe of elements gets a branch-free test per element (it vectorizes:
// a few GB/s, below the cost of widening fp16 weights that precedes it at
// load), and only a stripe that fails is searched element by element. Loading
// a checkpoint runs it on every float tensor it converts; core/quant/
// finite_scan.h splits one array over threads for the solver's inputs.
#pragma once

#include <cstddef>
#include <optional>

namespace gptq {

// The index of the first non-finite element of x[0, n), or nullopt.
std::optional<std::size_t> first_non_finite(const float *x, std::size_t n);

}  // namespace gptq
