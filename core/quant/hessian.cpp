#include "core/quant/hessian.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/base/error.h"
#include "core/cpu/parallel_blas.h"
#include "core/cpu/row_chunks.h"
#include "core/quant/finite_scan.h"

namespace gptq::quant {
namespace {

constexpr const char *kPoisoned =
    "HessianAccumulator: an earlier batch was not finite; the sums are lost (start a new accumulator)";

}  // namespace

HessianAccumulator::HessianAccumulator(std::int64_t cols, bool fp64) : cols_(cols), fp64_(fp64) {
  if (cols <= 0) fail(Status::InvalidArgument, "HessianAccumulator: cols must be > 0, got " + std::to_string(cols));
  const auto size = static_cast<std::size_t>(cols) * static_cast<std::size_t>(cols);
  if (fp64_) {
    h64_.assign(size, 0.0);
  } else {
    h32_.assign(size, 0.0f);
  }
}

void HessianAccumulator::add_batch(const Compute &compute, const float *x, std::int64_t rows, std::int64_t count) {
  if (rows <= 0) fail(Status::InvalidArgument, "HessianAccumulator::add_batch: rows must be > 0, got " + std::to_string(rows));
  if (x == nullptr) fail(Status::InvalidArgument, "HessianAccumulator::add_batch: x is null");
  if (count < 0) count = rows;
  if (count == 0) fail(Status::InvalidArgument, "HessianAccumulator::add_batch: count must be > 0");
  if (poisoned_) fail(Status::InvalidArgument, kPoisoned);
  const std::size_t total = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols_);
  const std::int64_t k = cols_;
  // The sum X^T X is kept (zero at the start, so beta is always 1 and BLAS
  // makes no pass over H of its own) and scaled by 2/n when read: the same H
  // as the running average. Rows go in fixed chunks: a tile task then never
  // grows past a chunk's share, and the caller sees progress between chunks.
  for (std::int64_t r0 = 0; r0 < rows; r0 += kRowChunk) {
    const std::int64_t n = std::min(kRowChunk, rows - r0);
    const float *xc = x + r0 * k;
    const auto part = compute.part(static_cast<double>(r0) / static_cast<double>(rows),
                                   static_cast<double>(r0 + n) / static_cast<double>(rows));
    if (fp64_) {
      x64_.resize(static_cast<std::size_t>(n * k));
      for_row_chunks(compute, n, 256, [&](std::int64_t a, std::int64_t b) {
        std::copy(xc + a * k, xc + b * k, x64_.begin() + a * k);
      });
      parallel_syrk_upper(compute, k, n, 1.0, x64_.data(), k, 1.0, h64_.data(), k);
    } else {
      parallel_syrk_upper(compute, k, n, 1.0f, xc, k, 1.0f, h32_.data(), k);
    }
  }
  // A NaN or infinity in column j of the batch, or a value whose square
  // overflows, leaves H[j][j] = sum of squares non-finite: checking the
  // diagonal afterwards replaces a pass over the batch (9% of the update on
  // 16 threads). The batch is scanned only to name the element.
  const auto uk = static_cast<std::size_t>(k);
  for (std::size_t j = 0; j < uk; ++j) {
    const double d = fp64_ ? h64_[j * uk + j] : static_cast<double>(h32_[j * uk + j]);
    if (std::isfinite(d)) continue;
    poisoned_ = true;
    if (const auto bad = first_non_finite(compute, x, total))
      fail(Status::InvalidArgument, "HessianAccumulator::add_batch: activation [" + std::to_string(*bad / uk) + "][" +
                                        std::to_string(*bad % uk) + "] is not finite");
    fail(Status::InvalidArgument, "HessianAccumulator::add_batch: the squares of activation column " +
                                      std::to_string(j) + " overflow float");
  }
  n_ += count;
}

std::vector<float> HessianAccumulator::hessian(const Compute &compute) const {
  if (poisoned_) fail(Status::InvalidArgument, kPoisoned);
  const auto k = static_cast<std::size_t>(cols_);
  const double scale = n_ > 0 ? 2.0 / static_cast<double>(n_) : 0.0;
  std::vector<float> h(k * k);
  // Row i of the upper triangle fills row i and column i: rows on the pool
  // write disjoint elements.
  for_row_chunks(compute, cols_, 64, [&](std::int64_t r0, std::int64_t r1) {
    for (auto i = static_cast<std::size_t>(r0); i < static_cast<std::size_t>(r1); ++i) {
      for (std::size_t j = i; j < k; ++j) {
        const float v = static_cast<float>(scale * (fp64_ ? h64_[i * k + j] : static_cast<double>(h32_[i * k + j])));
        h[i * k + j] = v;
        h[j * k + i] = v;
      }
    }
  });
  return h;
}

}  // namespace gptq::quant
