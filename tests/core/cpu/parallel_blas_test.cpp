// The tiled BLAS and LAPACK routines on the pool: right (against plain loops
// in double, with tolerances from the sums' lengths) and the same bits on 1,
// 2 and 3 threads, for shapes that cross the tile and block edges.
#include "core/cpu/parallel_blas.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu/parallel_lapack.h"

namespace gptq {
namespace {

template <class T>
std::vector<T> random_vector(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(0.0, 1.0);
  std::vector<T> v(n);
  for (auto &x : v) x = static_cast<T>(d(rng));
  return v;
}

// C = op(A) op(B) in double, row-major.
std::vector<double> reference_gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k,
                                   const std::vector<float> &a, std::int64_t lda, const std::vector<float> &b,
                                   std::int64_t ldb) {
  std::vector<double> c(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::int64_t p = 0; p < k; ++p) {
        const double x = ta == Trans::No ? a[static_cast<std::size_t>(i * lda + p)] : a[static_cast<std::size_t>(p * lda + i)];
        const double y = tb == Trans::No ? b[static_cast<std::size_t>(p * ldb + j)] : b[static_cast<std::size_t>(j * ldb + p)];
        s += x * y;
      }
      c[static_cast<std::size_t>(i * n + j)] = s;
    }
  return c;
}

TEST(ParallelBlas, GemmIsRightAndTheSameOnAnyThreadCount) {
  struct Case {
    Trans ta, tb;
    std::int64_t m, n, k;
  };
  // Shapes past the 256 tiles on both sides, with edges, and one below the
  // inline threshold.
  for (const Case c : {Case{Trans::No, Trans::Yes, 300, 530, 70}, Case{Trans::Yes, Trans::No, 513, 257, 40},
                       Case{Trans::No, Trans::No, 1, 700, 600}, Case{Trans::No, Trans::Yes, 1, 900, 384},
                       Case{Trans::Yes, Trans::Yes, 1, 600, 500}, Case{Trans::No, Trans::Yes, 7, 9, 11}}) {
    const std::int64_t lda = c.ta == Trans::No ? c.k : c.m, ldb = c.tb == Trans::No ? c.n : c.k;
    const auto a = random_vector<float>(static_cast<std::size_t>(c.ta == Trans::No ? c.m * c.k : c.k * c.m), 1);
    const auto b = random_vector<float>(static_cast<std::size_t>(c.tb == Trans::No ? c.k * c.n : c.n * c.k), 2);
    const auto ref = reference_gemm(c.ta, c.tb, c.m, c.n, c.k, a, lda, b, ldb);
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      const Compute compute(pool);
      std::vector<float> out(static_cast<std::size_t>(c.m * c.n), 1.0f);
      // beta 0.5: C's old values count.
      parallel_gemm(compute, c.ta, c.tb, c.m, c.n, c.k, 2.0f, a.data(), lda, b.data(), ldb, 0.5f, out.data(), c.n);
      results.push_back(out);
    }
    // Each output sums k products of N(0,1) values: |error| <= k * eps * sum |a||b| ~ k * eps * k.
    const double tol = 4.0 * static_cast<double>(c.k) * static_cast<double>(c.k) * 6e-8 + 1e-6;
    for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(results[0][i], 2.0 * ref[i] + 0.5, tol) << i;
    EXPECT_EQ(results[0], results[1]);
    EXPECT_EQ(results[0], results[2]);
  }
}

TEST(ParallelBlas, SyrkUpperIsRightLeavesTheLowerTriangleAndIsTheSameOnAnyThreadCount) {
  const std::int64_t n = 600, k = 90;  // three tiles a side, with an edge
  const auto a = random_vector<float>(static_cast<std::size_t>(k * n), 3);
  const auto ref = reference_gemm(Trans::Yes, Trans::No, n, n, k, a, n, a, n);
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    const Compute compute(pool);
    std::vector<float> c(static_cast<std::size_t>(n * n), -7.0f);
    parallel_syrk_upper(compute, n, k, 1.0f, a.data(), n, 1.0f, c.data(), n);
    results.push_back(c);
  }
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      const auto at = static_cast<std::size_t>(i * n + j);
      if (j < i) {
        ASSERT_EQ(results[0][at], -7.0f) << i << " " << j;
      } else {
        ASSERT_NEAR(results[0][at], ref[at] - 7.0, 4.0 * k * k * 6e-8 + 1e-5) << i << " " << j;
      }
    }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

// A symmetric positive definite n x n matrix (column-major = row-major).
std::vector<double> spd(std::int64_t n, unsigned seed) {
  const auto x = random_vector<double>(static_cast<std::size_t>(n * n), seed);
  std::vector<double> a(static_cast<std::size_t>(n * n), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::int64_t p = 0; p < n; ++p)
        s += x[static_cast<std::size_t>(p * n + i)] * x[static_cast<std::size_t>(p * n + j)];
      a[static_cast<std::size_t>(i * n + j)] = s / static_cast<double>(n) + (i == j ? 1.0 : 0.0);
    }
  return a;
}

TEST(ParallelLapack, CholeskyAndTriangularInverseAreRightAndTheSameOnAnyThreadCount) {
  const std::int64_t n = 560;  // blocks of 256 with an edge
  const auto a = spd(n, 4);
  std::vector<std::vector<double>> factors, inverses;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    const Compute compute(pool);
    std::vector<double> u = a;
    ASSERT_TRUE(parallel_potrf_upper(compute, n, u.data(), n));
    factors.push_back(u);
    ASSERT_TRUE(parallel_trtri_upper(compute, n, u.data(), n));
    inverses.push_back(u);
  }
  EXPECT_EQ(factors[0], factors[1]);
  EXPECT_EQ(factors[0], factors[2]);
  EXPECT_EQ(inverses[0], inverses[1]);
  EXPECT_EQ(inverses[0], inverses[2]);
  // Column-major: element (i, j) at i + j * n; U upper.
  auto u = [&](std::int64_t i, std::int64_t j) { return i <= j ? factors[0][static_cast<std::size_t>(i + j * n)] : 0.0; };
  auto v = [&](std::int64_t i, std::int64_t j) { return i <= j ? inverses[0][static_cast<std::size_t>(i + j * n)] : 0.0; };
  double worst_a = 0, worst_i = 0;
  for (std::int64_t i = 0; i < n; i += 7)
    for (std::int64_t j = i; j < n; j += 5) {
      double uu = 0, uv = 0;
      for (std::int64_t p = 0; p <= std::min(i, j); ++p) uu += u(p, i) * u(p, j);  // (U^T U)(i, j)
      for (std::int64_t p = i; p <= j; ++p) uv += u(i, p) * v(p, j);               // (U V)(i, j)
      worst_a = std::max(worst_a, std::fabs(uu - a[static_cast<std::size_t>(i + j * n)]));
      worst_i = std::max(worst_i, std::fabs(uv - (i == j ? 1.0 : 0.0)));
    }
  // float64 sums of n terms of size ~1 (the matrix is well conditioned).
  EXPECT_LT(worst_a, 1e-11);
  EXPECT_LT(worst_i, 1e-11);
}

TEST(ParallelLapack, IndefiniteAndSingularMatricesAreRefused) {
  ThreadPool pool(2);
  const Compute compute(pool);
  const std::int64_t n = 300;
  auto a = spd(n, 5);
  a[static_cast<std::size_t>(280 + 280 * n)] = -1.0;  // in the second block
  EXPECT_FALSE(parallel_potrf_upper(compute, n, a.data(), n));
  std::vector<double> u(static_cast<std::size_t>(n * n), 0.0);
  for (std::int64_t i = 0; i < n; ++i) u[static_cast<std::size_t>(i + i * n)] = i == 290 ? 0.0 : 2.0;
  EXPECT_FALSE(parallel_trtri_upper(compute, n, u.data(), n));
}

}  // namespace
}  // namespace gptq
