// The GPTQ solver (Frantar et al., arXiv:2210.17323, Algorithm 1) on the CPU.
//
// Columns of W are quantized one at a time; the error of each is spread over
// the not yet quantized columns through the upper Cholesky factor U of the
// damped H^-1. Columns go in blocks of block_size: inside a block the update is
// applied column by column, the rest of the matrix gets one GEMM per block
// (the paper's lazy batch update). Options as in the published code: dead
// inputs (diag H = 0) are zeroed, act-order permutes columns by descending
// diag(H) (stable for ties), static_groups fits all groups on the unpermuted W
// first, otherwise a group's grid is fitted when its first column is reached.
//
// One deliberate difference from the published code: a group's grid is fitted
// on the group's columns with every update from the already quantized columns
// applied, including those of the current block (the published code reads the
// block's columns before their in-block updates when a group starts mid-block,
// e.g. group_size 32 with block_size 128). With group_size a multiple of
// block_size both are identical.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/cpu/compute.h"
#include "core/quant/quant_options.h"
#include "core/quant/quant_result.h"

namespace gptq::quant {

// w: [rows][cols] row-major (HF nn.Linear weight); h: [cols][cols] symmetric.
// Inputs are assumed valid (see quantize_matrix.h for the checked entry).
// Runs on `compute`'s pool: each block's columns are solved in chunks of
// output rows, each chunk with its own lazy update, so the result does not
// depend on the thread count; progress goes to the compute's current range
// (the factorization's share of solve_work, then the blocks'). Throws
// Status::Numerical naming `layer` when H cannot be factored with any allowed
// damping.
QuantResult gptq_solve(const Compute &compute, const float *w, std::int64_t rows, std::int64_t cols,
                       const float *h, const QuantOptions &opt, std::string_view layer);

}  // namespace gptq::quant
