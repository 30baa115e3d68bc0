#include "core/quant/inverse_cholesky.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <sstream>
#include <string>

#include "core/cpu/parallel_lapack.h"
#include "core/cpu/row_chunks.h"
#include "core/base/error.h"

namespace gptq::quant {

bool inverse_upper_cholesky(const Compute &compute, const float *h, std::int64_t k, float *u, float damp) {
  const auto kk = static_cast<std::size_t>(k) * static_cast<std::size_t>(k);
  const auto uk = static_cast<std::size_t>(k);
  // a = J H J (symmetric, any major): the flat reversal of h, row by row on the
  // threads; the damped diagonal is rounded to float first, as a float H + damp
  // would be.
  auto a = std::make_unique_for_overwrite<double[]>(kk);
  for_row_chunks(compute, k, 256, [&](std::int64_t r0, std::int64_t r1) {
    for (auto i = static_cast<std::size_t>(r0); i < static_cast<std::size_t>(r1); ++i) {
      const float *src = h + i * uk;
      double *dst = a.get() + (kk - 1 - i * uk);  // walks backwards
      for (std::size_t j = 0; j < uk; ++j) *(dst - j) = src[j];
      *(dst - i) = static_cast<double>(src[i] + damp);
    }
  });
  {
    const auto part = compute.part(0.0, 0.5);
    if (!parallel_potrf_upper(compute, k, a.get(), k)) return false;
  }
  {
    const auto part = compute.part(0.5, 1.0);
    if (!parallel_trtri_upper(compute, k, a.get(), k)) return false;
  }
  // Upper part of u = reversed a; the strict lower part of a holds leftovers
  // of the input, so u's lower triangle is cleared instead.
  std::atomic<bool> ok{true};
  for_row_chunks(compute, k, 256, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t i = r0; i < r1; ++i) {
      float *row = u + i * k;
      const double *src = a.get() + (kk - 1 - static_cast<std::size_t>(i * k));  // walks backwards
      std::fill(row, row + i, 0.0f);
      for (std::int64_t j = i; j < k; ++j) row[j] = static_cast<float>(*(src - j));
      if (!(row[i] > 0.0f) || !std::isfinite(row[i])) ok = false;  // under/overflow in float
    }
  });
  return ok;
}

double damped_inverse_upper_cholesky(const Compute &compute, const float *h, std::int64_t k, const QuantOptions &opt,
                                     std::string_view layer, float *u) {
  double mean = 0.0;
  for (std::int64_t i = 0; i < k; ++i) mean += h[i * k + i];
  const auto mean_diag = static_cast<float>(mean / static_cast<double>(k));
  double percent = opt.damp_percent;
  for (;;) {
    const float damp = static_cast<float>(percent) * mean_diag;
    if (inverse_upper_cholesky(compute, h, k, u, damp)) return percent;
    const double next = percent + opt.damp_auto_increment;
    if (opt.damp_auto_increment <= 0.0f || next > kMaxDampPercent + 1e-9) {
      std::ostringstream msg;
      msg << "layer '" << layer << "': the damped Hessian (" << k << "x" << k
          << ") is not positive definite at damp_percent " << percent
          << (opt.damp_auto_increment > 0.0f ? " (retries exhausted up to " : " (retry disabled; limit ")
          << kMaxDampPercent << ")";
      fail(Status::Numerical, msg.str());
    }
    percent = next;
  }
}

}  // namespace gptq::quant
