// The GPTQ solver against goldens of the PyTorch reference
// (tests/reference/gptq_ref.py) and against properties any correct solver has.
#include "core/quant/gptq_solver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/quant/quantize_matrix.h"
#include "tests/core/quant/golden_cases.h"
#include "tests/support/test_compute.h"

namespace gptq::quant {
namespace {

using namespace gptq::quant::testing;

TEST(GptqSolver, MatchesReferenceGoldens) {
  const auto cases = load_golden_cases("gptq");
  ASSERT_GE(cases.size(), 70u);
  double worst = 1.0;
  for (const auto &g : cases) {
    const QuantResult r = quantize_matrix(test_compute(), g.w.data(), g.rows, g.cols, g.h.data(), g.opt, g.spec["file"].get<std::string>());
    const double agree = expect_matches_golden(g, r);
    worst = std::min(worst, agree);
    const double loss = g.spec["loss"];
    // Loss within 1e-4 relative where every code agrees. Where a float tie
    // rounded the other way (another BLAS, another summation order), the
    // error feedback after it differs and so may the loss: 1e-3 there (seen:
    // codes 99.96% equal on the GPU machine's Xeon with 16 OpenBLAS threads).
    const double tol = agree == 1.0 ? 1e-4 : 1e-3;
    EXPECT_NEAR(r.loss, loss, tol * std::fabs(loss)) << describe(g) << " (codes agree " << agree << ")";
    EXPECT_NEAR(r.damp_percent, g.spec["damp_used"].get<double>(), 1e-6) << describe(g);
  }
  std::printf("worst code agreement over %zu cases: %.5f\n", cases.size(), worst);
}

struct Layer {
  std::int64_t n, k;
  std::vector<float> w, h;
};

Layer random_layer(std::int64_t n, std::int64_t k, std::uint32_t seed) {
  Layer l{n, k, random_matrix(n, k, seed, 0.02f), {}};
  l.h = hessian_of(correlated_activations(2 * k, k, seed + 10), k);
  return l;
}

// GPTQ's point: a smaller layer output error than rounding to nearest.
TEST(GptqSolver, BeatsRtnOnOutputErrorForEveryConfig) {
  const Layer l = random_layer(48, 128, 7);
  for (int bits : {2, 3, 4, 8})
    for (int group : {-1, 32})
      for (bool desc : {false, true})
        for (bool sym : {false, true})
          for (bool stat : {false, true}) {
            if (stat && group < 0) continue;
            QuantOptions o;
            o.bits = bits;
            o.group_size = group;
            o.desc_act = desc;
            o.sym = sym;
            o.static_groups = stat;
            const QuantResult g = quantize_matrix(test_compute(), l.w.data(), l.n, l.k, l.h.data(), o);
            const QuantResult r = rtn_matrix(test_compute(), l.w.data(), l.n, l.k, o);
            EXPECT_LT(output_error(l.w, g.dequant, l.h, l.n, l.k), output_error(l.w, r.dequant, l.h, l.n, l.k))
                << "bits " << bits << " group " << group << " desc " << desc << " sym " << sym << " static " << stat;
          }
}

// With act-order the codes are stored in the original column order and g_idx
// names each column's group: dequantizing through g_idx must give exactly the
// solver's own dequantized matrix, and each group holds group_size columns.
TEST(GptqSolver, ActOrderGidxDequantizesToTheSameMatrix) {
  const Layer l = random_layer(32, 128, 11);
  QuantOptions o;
  o.group_size = 32;
  o.desc_act = true;
  const QuantResult r = quantize_matrix(test_compute(), l.w.data(), l.n, l.k, l.h.data(), o);
  ASSERT_EQ(r.perm.size(), 128u);
  std::vector<int> per_group(4, 0);
  for (std::int64_t k = 0; k < l.k; ++k) {
    const int g = r.g_idx[static_cast<std::size_t>(k)];
    ++per_group[static_cast<std::size_t>(g)];
    for (std::int64_t n = 0; n < l.n; ++n) {
      const auto i = static_cast<std::size_t>(n * l.k + k);
      const auto gi = static_cast<std::size_t>(g * l.n + n);
      EXPECT_EQ(r.dequant[i], r.scales[gi] * (static_cast<float>(r.codes[i]) - static_cast<float>(r.zeros[gi])));
    }
  }
  for (int c : per_group) EXPECT_EQ(c, 32);
  bool non_contiguous = false;
  for (std::int64_t k = 0; k < l.k; ++k) non_contiguous |= r.g_idx[static_cast<std::size_t>(k)] != k / 32;
  EXPECT_TRUE(non_contiguous) << "act-order should scatter groups over k for this H";
  // Static groups keep g_idx = k / group_size even with act-order.
  o.static_groups = true;
  const QuantResult s = quantize_matrix(test_compute(), l.w.data(), l.n, l.k, l.h.data(), o);
  for (std::int64_t k = 0; k < l.k; ++k) EXPECT_EQ(s.g_idx[static_cast<std::size_t>(k)], k / 32);
}

TEST(GptqSolver, DeadInputsAreZeroed) {
  Layer l = random_layer(16, 64, 3);
  for (std::int64_t j = 0; j < l.k; ++j) {
    l.h[static_cast<std::size_t>(5 * l.k + j)] = 0;
    l.h[static_cast<std::size_t>(j * l.k + 5)] = 0;
  }
  QuantOptions o;
  o.group_size = 32;
  const QuantResult r = quantize_matrix(test_compute(), l.w.data(), l.n, l.k, l.h.data(), o);
  for (std::int64_t n = 0; n < l.n; ++n) EXPECT_EQ(r.dequant[static_cast<std::size_t>(n * l.k + 5)], 0.0f);
}

TEST(GptqSolver, DampingRetriesThenFailsNamingTheLayer) {
  Layer l = random_layer(16, 64, 5);
  double mean = 0;
  for (std::int64_t i = 0; i < l.k; ++i) mean += l.h[static_cast<std::size_t>(i * l.k + i)];
  mean /= static_cast<double>(l.k);
  // H - 3 mean(diag) I: no damping up to 100% of mean(diag) can repair it.
  for (std::int64_t i = 0; i < l.k; ++i) l.h[static_cast<std::size_t>(i * l.k + i)] -= static_cast<float>(3 * mean);
  QuantOptions o;
  try {
    (void)quantize_matrix(test_compute(), l.w.data(), l.n, l.k, l.h.data(), o, "model.layers.7.mlp.up_proj");
    FAIL() << "expected Status::Numerical";
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::Numerical);
    EXPECT_NE(std::string(e.what()).find("model.layers.7.mlp.up_proj"), std::string::npos) << e.what();
  }
  // Without auto-increment, any Cholesky failure is final.
  Layer m = random_layer(16, 64, 6);
  for (std::int64_t i = 0; i < m.k; ++i) m.h[static_cast<std::size_t>(i * m.k + i)] *= -1.0f;
  o.damp_auto_increment = 0;
  EXPECT_THROW((void)quantize_matrix(test_compute(), m.w.data(), m.n, m.k, m.h.data(), o), Error);
}

TEST(GptqSolver, ThreadCountDoesNotChangeTheResult) {
  // Several row chunks, and K past one block of the factorization's tiles.
  const Layer l = random_layer(600, 640, 9);
  QuantOptions o;
  o.group_size = 32;
  o.desc_act = true;
  ThreadPool one(1), three(3);
  const QuantResult a = gptq_solve(Compute(one), l.w.data(), l.n, l.k, l.h.data(), o, "t");
  const QuantResult b = gptq_solve(Compute(three), l.w.data(), l.n, l.k, l.h.data(), o, "t");
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.scales, b.scales);
  EXPECT_EQ(a.dequant, b.dequant);
  EXPECT_EQ(a.loss, b.loss);
}

}  // namespace
}  // namespace gptq::quant
