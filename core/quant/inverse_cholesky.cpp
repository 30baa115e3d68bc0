#include "core/quant/inverse_cholesky.h"

#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"

namespace gptq::quant {

bool inverse_upper_cholesky(const float *h, std::int64_t k, float *u, float damp) {
  const auto kk = static_cast<std::size_t>(k) * static_cast<std::size_t>(k);
  std::vector<double> a(kk);
  std::reverse_copy(h, h + kk, a.begin());  // a = J H J (symmetric, any major)
  // The damped diagonal is rounded to float first, as a float H + damp would be.
  for (std::size_t i = 0; i < static_cast<std::size_t>(k); ++i) {
    const std::size_t d = i * static_cast<std::size_t>(k) + i;
    a[kk - 1 - d] = static_cast<double>(h[d] + damp);
  }
  const auto n = static_cast<lapack_int>(k);
  if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', n, a.data(), n) != 0) return false;
  if (LAPACKE_dtrtri(LAPACK_COL_MAJOR, 'U', 'N', n, a.data(), n) != 0) return false;
  // Upper part of u = reversed a; the strict lower part of a holds leftovers
  // of the input, so u's lower triangle is cleared instead.
  for (std::int64_t i = 0; i < k; ++i) {
    float *row = u + i * k;
    const double *src = a.data() + (kk - 1 - static_cast<std::size_t>(i * k));  // walks backwards
    std::fill(row, row + i, 0.0f);
    for (std::int64_t j = i; j < k; ++j) row[j] = static_cast<float>(*(src - j));
    if (!(row[i] > 0.0f) || !std::isfinite(row[i])) return false;  // under/overflow in float
  }
  return true;
}

double damped_inverse_upper_cholesky(const float *h, std::int64_t k, const QuantOptions &opt,
                                     std::string_view layer, float *u) {
  double mean = 0.0;
  for (std::int64_t i = 0; i < k; ++i) mean += h[i * k + i];
  const auto mean_diag = static_cast<float>(mean / static_cast<double>(k));
  double percent = opt.damp_percent;
  for (;;) {
    const float damp = static_cast<float>(percent) * mean_diag;
    if (inverse_upper_cholesky(h, k, u, damp)) return percent;
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
