// first_non_finite on one thread: the first NaN or infinity wherever it falls
// within or across stripes; finite extremes pass.
#include "core/tensor/finite_scan.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <limits>
#include <vector>

namespace gptq {
namespace {

TEST(TensorFiniteScan, FindsTheFirstBadElement) {
  const std::size_t n = 10'001;  // two whole stripes and a part
  std::vector<float> x(n, 1.0f);
  x[0] = FLT_MAX;
  x[1] = -FLT_MAX;
  x[2] = std::numeric_limits<float>::denorm_min();
  EXPECT_EQ(first_non_finite(x.data(), n), std::nullopt);
  EXPECT_EQ(first_non_finite(x.data(), 0), std::nullopt);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()})
    for (std::size_t at : {std::size_t{3}, std::size_t{4095}, std::size_t{4096}, n - 1}) {
      std::vector<float> y = x;
      y[at] = bad;
      if (at + 1 < n) y[n - 1] = bad;  // a later one does not hide it
      EXPECT_EQ(first_non_finite(y.data(), n), at) << at;
    }
}

}  // namespace
}  // namespace gptq
