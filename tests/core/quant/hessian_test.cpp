// The running Hessian equals 2/n X^T X whatever the batching, in fp32 and fp64.
#include "core/quant/hessian.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/base/error.h"
#include "tests/core/quant/quant_test_util.h"
#include "tests/support/test_compute.h"

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
    acc.add_batch(test_compute(), x.data(), 100);
    acc.add_batch(test_compute(), x.data() + 100 * k, 1);
    acc.add_batch(test_compute(), x.data() + 101 * k, 199);
    EXPECT_EQ(acc.samples(), n);
    const auto h = acc.hessian(test_compute());
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
    acc.add_batch(test_compute(), x.data(), 10);
    acc.add_batch(test_compute(), x.data() + 10 * k, 14);
    const auto h = acc.hessian(test_compute());
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
  acc.add_batch(test_compute(), x.data(), 8, 1);
  acc.add_batch(test_compute(), x.data() + 8 * k, 8, 1);
  EXPECT_EQ(acc.samples(), 2);
  const auto want = exact_hessian(x, 16, k);  // 2/16 X^T X
  const auto h = acc.hessian(test_compute());
  for (std::size_t i = 0; i < h.size(); ++i) EXPECT_NEAR(h[i], want[i] * 8.0, 1e-4 * (1.0 + std::fabs(want[i] * 8)));
}

TEST(Hessian, RejectsEmptyBatchesLeavingHUnchanged) {
  const std::int64_t k = 4;
  HessianAccumulator acc(k, false);
  std::vector<float> x(8, 1.0f);
  acc.add_batch(test_compute(), x.data(), 2);
  const auto before = acc.hessian(test_compute());
  EXPECT_THROW(acc.add_batch(test_compute(), x.data(), 0), Error);
  EXPECT_THROW(acc.add_batch(test_compute(), nullptr, 2), Error);
  EXPECT_THROW(acc.add_batch(test_compute(), x.data(), 2, 0), Error);
  EXPECT_THROW(HessianAccumulator(0, false), Error);
  EXPECT_EQ(acc.hessian(test_compute()), before);
  EXPECT_EQ(acc.samples(), 2);
}

// A NaN, an infinity or a value whose square overflows is found from H's
// diagonal after the batch was added: the error names the element (or the
// column), and the accumulator refuses to go on with its lost sums.
TEST(Hessian, NonFiniteBatchesAreNamedAndPoisonTheAccumulator) {
  const std::int64_t n = 6, k = 40;
  struct Case {
    float value;
    std::string want;
  };
  for (const Case &c : {Case{std::numeric_limits<float>::quiet_NaN(), "activation [4][33] is not finite"},
                        Case{-std::numeric_limits<float>::infinity(), "activation [4][33] is not finite"},
                        Case{3e19f, "squares of activation column 33 overflow"}}) {
    for (bool fp64 : {false, true}) {
      if (fp64 && c.value == 3e19f) continue;  // in double the square is finite
      HessianAccumulator acc(k, fp64);
      auto x = random_matrix(n, k, 5);
      acc.add_batch(test_compute(), x.data(), n);
      x[static_cast<std::size_t>(4 * k + 33)] = c.value;
      try {
        acc.add_batch(test_compute(), x.data(), n);
        ADD_FAILURE() << "no error for " << c.value;
      } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find(c.want), std::string::npos) << e.what();
      }
      const auto clean = random_matrix(n, k, 6);
      EXPECT_THROW(acc.add_batch(test_compute(), clean.data(), n), Error);
      EXPECT_THROW(acc.hessian(test_compute()), Error);
    }
  }
}

}  // namespace
}  // namespace gptq::quant
