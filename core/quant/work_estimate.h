// How long each part of quantization takes, in one unit: a multiply-add at
// the speed of a float GEMM. The pipeline's progress counts these units
// (core/pipeline/quantize_work.h), so that done/total tracks time and an ETA
// computed from it holds: a down_proj with four times the inputs of a q_proj
// costs sixteen times its Hessian, not the same "one sublayer".
//
// The weights of the operations that are not GEMMs (float64 factorization,
// the column loop of the solve, elementwise passes) were measured against
// sgemm on the development machine (work_estimate.cpp); they only need to be
// right to a few tens of percent.
#pragma once

#include <cstdint>

namespace gptq::quant {

// The GPTQ solve of an n x k weight: `factor`, the inverse Cholesky factor
// of the k x k Hessian (float64 potrf + trtri, and the float passes over H);
// `blocks`, the column blocks (the lazy updates and the per-column loop).
struct SolveWork {
  std::uint64_t factor = 0;
  std::uint64_t blocks = 0;
};
SolveWork solve_work(std::int64_t k, std::int64_t n);

// Accumulating the Hessian of k inputs over `tokens` rows (one syrk; fp64
// converts the rows and runs at float64 speed).
std::uint64_t hessian_work(std::int64_t k, std::int64_t tokens, bool fp64);

// Round-to-nearest of an n x k weight (grid fit and codes).
std::uint64_t rtn_work(std::int64_t k, std::int64_t n);

// The GPTQ loss of a quantized n x k weight against its Hessian (the
// compare_rtn report): one n x k x k product.
std::uint64_t layer_loss_work(std::int64_t k, std::int64_t n);

// One linear layer's product on `rows` inputs.
std::uint64_t linear_work(std::int64_t rows, std::int64_t in, std::int64_t out);

// Causal attention of `batch` sequences of `seq` positions with `heads` query
// heads of head_dim (scores, softmax, and the product with V).
std::uint64_t attention_work(std::int64_t batch, std::int64_t seq, std::int64_t heads, std::int64_t head_dim);

// The elementwise passes of a block (norms, RoPE, activation, residual adds)
// over `rows` tokens of a block with the given widths.
std::uint64_t block_elementwise_work(std::int64_t rows, std::int64_t hidden, std::int64_t intermediate);

}  // namespace gptq::quant
