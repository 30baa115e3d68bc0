// The running Hessian equals 2/n X^T X whatever the batching, in fp32 and fp64.
#include "core/quant/hessian.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "tests/core/quant/quant_test_util.h"

namespace gptq::quant {
namespace {

using namespace gptq::quant::testing;

std::vector<double> exact_hessian(const std::vector<float> &x, std::int64_t n, std::int64_t k) {
  std::vector<double> h(static_cast<std::size_t>(k * k), 0.0);
  for (std::int64_t t = 0; t < n; ++t)
    for (std::int64_t i = 0; i < k; ++i)
      for (std::int64_t j = 0; j < k; ++j)
        h[static_cast<std::size_t>(i * k + j)] += 2.0 / static_cast<double>(n) *
                                                  x[static_cast<std::size_t>(t * k + i)] * x[static_cast<std::size_t>(t * k + j)];
  return h;
}

TEST(Hessian, RunningAverageOverBatchesIsTwoOverNXtX) {
  const std::int64_t n = 300, k = 40;
  const auto x = random_matrix(n, k, 1);
  const auto want = exact_hessian(x, n, k);
  for (bool fp64 : {false, true}) {
    HessianAccumulator acc(k, fp64);
    acc.add_batch(x.data(), 100);
    acc.add_batch(x.data() + 100 * k, 1);
    acc.add_batch(x.data() + 101 * k, 199);
    EXPECT_EQ(acc.samples(), n);
    const auto h = acc.hessian();
    for (std::size_t i = 0; i < h.size(); ++i)
      EXPECT_NEAR(h[i], want[i], (fp64 ? 1e-6 : 1e-4) * (1.0 + std::fabs(want[i]))) << i;
    for (std::int64_t i = 0; i < k; ++i)
      for (std::int64_t j = 0; j < k; ++j)
        EXPECT_EQ(h[static_cast<std::size_t>(i * k + j)], h[static_cast<std::size_t>(j * k + i)]);
  }
}

TEST(Hessian, WideLayersMatchTheExactProduct) {
  // K = 2600, not a multiple of any BLAS blocking: every element of both
  // triangles against the product in double, over two batches.
  const std::int64_t n = 24, k = 2600;
  const auto x = random_matrix(n, k, 3);
  std::vector<double> want(static_cast<std::size_t>(k * k), 0.0);
  for (std::int64_t t = 0; t < n; ++t)
    for (std::int64_t i = 0; i < k; ++i) {
      const double xi = x[static_cast<std::size_t>(t * k + i)];
      for (std::int64_t j = 0; j < k; ++j)
        want[static_cast<std::size_t>(i * k + j)] += 2.0 / n * xi * x[static_cast<std::size_t>(t * k + j)];
    }
  for (bool fp64 : {false, true}) {
    HessianAccumulator acc(k, fp64);
    acc.add_batch(x.data(), 10);
    acc.add_batch(x.data() + 10 * k, 14);
    const auto h = acc.hessian();
    std::int64_t bad = 0;
    for (std::size_t i = 0; i < h.size(); ++i)
      bad += std::fabs(h[i] - want[i]) > (fp64 ? 1e-6 : 1e-4) * (1.0 + std::fabs(want[i]));
    EXPECT_EQ(bad, 0) << (fp64 ? "fp64" : "fp32");
  }
}

TEST(Hessian, CountsSamplesAsTheCallerSays) {
  // The reference counts sequences: two batches of 1 sequence x 8 tokens give
  // H = 2/2 * X^T X.
  const std::int64_t k = 8;
  const auto x = random_matrix(16, k, 2);
  HessianAccumulator acc(k, false);
  acc.add_batch(x.data(), 8, 1);
  acc.add_batch(x.data() + 8 * k, 8, 1);
  EXPECT_EQ(acc.samples(), 2);
  const auto want = exact_hessian(x, 16, k);  // 2/16 X^T X
  const auto h = acc.hessian();
  for (std::size_t i = 0; i < h.size(); ++i) EXPECT_NEAR(h[i], want[i] * 8.0, 1e-4 * (1.0 + std::fabs(want[i] * 8)));
}

TEST(Hessian, RejectsNonFiniteAndEmptyBatchesLeavingHUnchanged) {
  const std::int64_t k = 4;
  HessianAccumulator acc(k, false);
  std::vector<float> x(8, 1.0f);
  acc.add_batch(x.data(), 2);
  const auto before = acc.hessian();
  x[5] = NAN;
  EXPECT_THROW(acc.add_batch(x.data(), 2), Error);
  x[5] = INFINITY;
  EXPECT_THROW(acc.add_batch(x.data(), 2), Error);
  EXPECT_THROW(acc.add_batch(x.data(), 0), Error);
  EXPECT_THROW(HessianAccumulator(0, false), Error);
  EXPECT_EQ(acc.hessian(), before);
  EXPECT_EQ(acc.samples(), 2);
}

}  // namespace
}  // namespace gptq::quant
