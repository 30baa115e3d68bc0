// RTN against the reference's goldens, and its defining property: every code
// is the nearest grid point.
#include "core/quant/rtn.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/quant/quant_grid.h"
#include "core/quant/quantize_matrix.h"
#include "tests/core/quant/golden_cases.h"
#include "tests/support/test_compute.h"

namespace gptq::quant {
namespace {

using namespace gptq::quant::testing;

TEST(Rtn, MatchesReferenceGoldens) {
  const auto cases = load_golden_cases("rtn");
  ASSERT_GE(cases.size(), 4u);
  // No sums in RTN, so no ties that rounding could break: every row matches.
  for (const auto &g : cases)
    EXPECT_EQ(compare_with_golden(g, rtn_matrix(test_compute(), g.w.data(), g.rows, g.cols, g.opt)).code_agreement, 1.0);
}

TEST(Rtn, EveryWeightGoesToTheNearestGridPoint) {
  const std::int64_t n = 16, k = 64;
  const auto w = random_matrix(n, k, 4);
  QuantOptions o;
  o.bits = 3;
  o.group_size = 16;
  o.sym = false;
  const QuantResult r = rtn_matrix(test_compute(), w.data(), n, k, o);
  EXPECT_EQ(r.groups, 4);
  for (std::int64_t i = 0; i < n * k; ++i) {
    const auto idx = static_cast<std::size_t>(i);
    const auto gi = static_cast<std::size_t>((i % k) / 16 * n + i / k);
    EXPECT_EQ(r.g_idx[static_cast<std::size_t>(i % k)], (i % k) / 16);
    const float s = r.scales[gi], z = static_cast<float>(r.zeros[gi]);
    for (int c = 0; c <= 7; ++c)  // no other code is closer
      EXPECT_LE(std::fabs(r.dequant[idx] - w[idx]), std::fabs(s * (static_cast<float>(c) - z) - w[idx]) + 1e-6f);
  }
}

}  // namespace
}  // namespace gptq::quant
