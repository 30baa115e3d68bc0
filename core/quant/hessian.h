// Running Hessian H = 2/n * sum_t x_t x_t^T of a linear layer's inputs, fed in
// batches of activations, as GPTQ's add_batch keeps it: for a batch of m rows,
// H <- H * n/(n+m) + (2/(n+m)) * X^T X, n <- n + m (kept as the plain sum of
// X^T X, scaled by 2/n when read). Only the upper triangle
// is computed (half the work of a general product: H is symmetric), by syrk
// and gemm tiles on the pool (core/cpu/parallel_blas.h), so H does not depend
// on the thread count.
//
// `count` lets a caller count a batch as the reference does (it counts
// sequences, not tokens: its n is the number of samples); the default counts
// rows. The scale of H does not change the GPTQ solution (damping is relative
// to mean(diag H)); it only scales the reported loss.
#pragma once

#include <cstdint>
#include <vector>

#include "core/cpu/compute.h"

namespace gptq::quant {

class HessianAccumulator {
 public:
  // `cols` is K, the layer's input width; fp64 accumulates in double.
  HessianAccumulator(std::int64_t cols, bool fp64);

  // x is [rows][cols] row-major (one activation vector per row). Rejects
  // non-positive sizes with InvalidArgument, H unchanged. A batch holding NaN
  // or Inf (or values whose squares overflow) is found after it was added,
  // from H's diagonal: InvalidArgument naming the element, and the
  // accumulator is unusable from then on (add_batch and hessian throw).
  // Rows go in chunks of kRowChunk, one pool run each (a tile task never
  // grows past a chunk's share); progress, as the fraction of rows done, goes
  // to the compute's current range.
  void add_batch(const Compute &compute, const float *x, std::int64_t rows, std::int64_t count = -1);
  static constexpr std::int64_t kRowChunk = 16384;

  std::int64_t cols() const { return cols_; }
  std::int64_t samples() const { return n_; }

  // H as a full symmetric K x K float matrix (row-major; both triangles).
  std::vector<float> hessian(const Compute &compute) const;

 private:
  std::int64_t cols_;
  bool fp64_;
  bool poisoned_ = false;  // a batch was not finite: the sums are NaN/Inf
  std::int64_t n_ = 0;
  std::vector<float> h32_;   // sum of X^T X; upper triangle (row-major) is maintained
  std::vector<double> h64_;
  std::vector<double> x64_;  // conversion buffer for the fp64 path
};

}  // namespace gptq::quant
