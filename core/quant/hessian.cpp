#include "core/quant/hessian.h"

#include <cblas.h>

#include <cmath>
#include <string>

#include "core/error.h"

namespace gptq::quant {

HessianAccumulator::HessianAccumulator(std::int64_t cols, bool fp64) : cols_(cols), fp64_(fp64) {
  if (cols <= 0) fail(Status::InvalidArgument, "HessianAccumulator: cols must be > 0, got " + std::to_string(cols));
  const auto size = static_cast<std::size_t>(cols) * static_cast<std::size_t>(cols);
  if (fp64_) {
    h64_.assign(size, 0.0);
  } else {
    h32_.assign(size, 0.0f);
  }
}

void HessianAccumulator::add_batch(const float *x, std::int64_t rows, std::int64_t count) {
  if (rows <= 0) fail(Status::InvalidArgument, "HessianAccumulator::add_batch: rows must be > 0, got " + std::to_string(rows));
  if (x == nullptr) fail(Status::InvalidArgument, "HessianAccumulator::add_batch: x is null");
  if (count < 0) count = rows;
  if (count == 0) fail(Status::InvalidArgument, "HessianAccumulator::add_batch: count must be > 0");
  const std::size_t total = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols_);
  for (std::size_t i = 0; i < total; ++i) {
    if (!std::isfinite(x[i])) {
      fail(Status::InvalidArgument, "HessianAccumulator::add_batch: activation [" +
                                        std::to_string(i / static_cast<std::size_t>(cols_)) + "][" +
                                        std::to_string(i % static_cast<std::size_t>(cols_)) + "] is not finite");
    }
  }
  const double n = static_cast<double>(n_), m = static_cast<double>(count);
  const double beta = n / (n + m), alpha = 2.0 / (n + m);
  const auto k = static_cast<blasint>(cols_), r = static_cast<blasint>(rows);
  if (fp64_) {
    x64_.assign(x, x + total);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, k, r, alpha, x64_.data(), k, beta, h64_.data(), k);
  } else {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, k, r, static_cast<float>(alpha), x, k,
                static_cast<float>(beta), h32_.data(), k);
  }
  n_ += count;
}

std::vector<float> HessianAccumulator::hessian() const {
  const auto k = static_cast<std::size_t>(cols_);
  std::vector<float> h(k * k);
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = i; j < k; ++j) {
      const float v = fp64_ ? static_cast<float>(h64_[i * k + j]) : h32_[i * k + j];
      h[i * k + j] = v;
      h[j * k + i] = v;
    }
  }
  return h;
}

}  // namespace gptq::quant
