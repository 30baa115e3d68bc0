// U with U^T U = H^-1, and the damping retry policy.
#include "core/quant/inverse_cholesky.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/base/error.h"
#include "tests/core/quant/quant_test_util.h"
#include "tests/support/test_compute.h"

namespace gptq::quant {
namespace {

using namespace gptq::quant::testing;

TEST(InverseCholesky, UtUIsTheInverse) {
  const std::int64_t k = 48;
  const auto h = hessian_of(correlated_activations(200, k, 3), k);
  std::vector<float> u(static_cast<std::size_t>(k * k));
  ASSERT_TRUE(inverse_upper_cholesky(test_compute(), h.data(), k, u.data()));
  // (U^T U) H = I
  double worst = 0;
  for (std::int64_t i = 0; i < k; ++i) {
    for (std::int64_t j = 0; j < k; ++j) {
      EXPECT_TRUE(j >= i || u[static_cast<std::size_t>(i * k + j)] == 0.0f);
      double s = 0;
      for (std::int64_t m = 0; m < k; ++m) {
        double inv_im = 0;  // (U^T U)[i][m]
        for (std::int64_t t = 0; t <= std::min(i, m); ++t)
          inv_im += static_cast<double>(u[static_cast<std::size_t>(t * k + i)]) * u[static_cast<std::size_t>(t * k + m)];
        s += inv_im * h[static_cast<std::size_t>(m * k + j)];
      }
      worst = std::max(worst, std::fabs(s - (i == j ? 1.0 : 0.0)));
    }
  }
  EXPECT_LT(worst, 1e-3);
}

TEST(InverseCholesky, RejectsIndefiniteH) {
  std::vector<float> h = {1, 2, 2, 1};  // eigenvalues 3 and -1
  std::vector<float> u(4);
  EXPECT_FALSE(inverse_upper_cholesky(test_compute(), h.data(), 2, u.data()));
}

TEST(InverseCholesky, DampingGrowsUntilItWorks) {
  // diag(1, 1, 1, -0.03): mean diag 0.7425; needs damp > 0.03 / 0.7425 = 4.04%.
  std::vector<float> h(16, 0.0f);
  h[0] = h[5] = h[10] = 1.0f;
  h[15] = -0.03f;
  std::vector<float> u(16);
  QuantOptions o;
  o.damp_percent = 0.01f;
  o.damp_auto_increment = 0.01f;
  EXPECT_NEAR(damped_inverse_upper_cholesky(test_compute(), h.data(), 4, o, "x", u.data()), 0.05, 1e-7);
  o.damp_auto_increment = 0.0f;
  EXPECT_THROW(damped_inverse_upper_cholesky(test_compute(), h.data(), 4, o, "x", u.data()), Error);
}

}  // namespace
}  // namespace gptq::quant
