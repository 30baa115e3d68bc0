// first_non_finite: the first NaN or infinity of an array, on any number of
// threads, in the slice it falls in or beyond; finite extremes pass.
#include "core/quant/finite_scan.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cstddef>
#include <limits>
#include <vector>
#include "tests/support/test_compute.h"

namespace gptq::quant {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();

TEST(FiniteScan, FiniteExtremesPass) {
  std::vector<float> x(3'000'001, 1.0f);
  x[0] = FLT_MAX;
  x[1] = -FLT_MAX;
  x[2] = std::numeric_limits<float>::denorm_min();
  x[3] = -0.0f;
  for (int threads : {1, 2, 7}) {
    ThreadPool pool(threads);
    const Compute compute(pool);
    EXPECT_EQ(first_non_finite(compute, x.data(), x.size()), std::nullopt);
  }
  EXPECT_EQ(first_non_finite(test_compute(), x.data(), 0), std::nullopt);
}

TEST(FiniteScan, FindsTheFirstBadElementWhereverItIs) {
  const std::size_t n = 3'000'001;  // three slices and one element
  for (float bad : {kNan, kInf, -kInf}) {
    for (std::size_t at : {std::size_t{0}, std::size_t{4095}, std::size_t{4096}, std::size_t{1} << 20,
                           (std::size_t{1} << 21) + 17, n - 1}) {
      std::vector<float> x(n, 0.5f);
      x[at] = bad;
      if (at + 5 < n) x[at + 5] = kNan;  // a later one does not hide it
      x[n - 1] = kInf;                  // nor does one in a later slice
      for (int threads : {1, 3, 8}) {
        ThreadPool pool(threads);
        const Compute compute(pool);
        EXPECT_EQ(first_non_finite(compute, x.data(), n), at) << at << " " << threads;
      }
    }
  }
}

}  // namespace
}  // namespace gptq::quant
