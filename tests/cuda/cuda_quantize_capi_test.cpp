// gptq_quantize_matrix on a CUDA context runs the CUDA quantize engine and
// agrees with a CPU context: integer codes equal for >= 99.9% of the weights,
// loss within 1e-3 relative, same damping and g_idx — from a Hessian and
// from activations (H accumulated on the GPU). Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gptq/gptq.h"

namespace {

struct Solved {
  std::vector<int> codes;
  std::vector<int32_t> g_idx;
  double loss = 0, damp = 0;
};

// Codes from the unpacked result: (dequant / scale) + zero of each column's group.
Solved read(gptq_matrix_result *r, int64_t rows, int64_t cols) {
  Solved s;
  const float *deq = nullptr, *scales = nullptr;
  const int32_t *zeros = nullptr, *g_idx = nullptr;
  int64_t a = 0, b = 0;
  EXPECT_EQ(gptq_matrix_result_dequantized(r, &deq, &a, &b), GPTQ_OK);
  EXPECT_EQ(gptq_matrix_result_scales(r, &scales, &a, &b), GPTQ_OK);
  EXPECT_EQ(gptq_matrix_result_zeros(r, &zeros, &a, &b), GPTQ_OK);
  EXPECT_EQ(gptq_matrix_result_g_idx(r, &g_idx, &a), GPTQ_OK);
  EXPECT_EQ(gptq_matrix_result_loss(r, &s.loss), GPTQ_OK);
  EXPECT_EQ(gptq_matrix_result_damp_percent(r, &s.damp), GPTQ_OK);
  s.g_idx.assign(g_idx, g_idx + cols);
  s.codes.resize(static_cast<std::size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const auto gi = static_cast<std::size_t>(g_idx[j] * rows + i);
      const auto at = static_cast<std::size_t>(i * cols + j);
      s.codes[at] = static_cast<int>(std::lround(deq[at] / scales[gi])) + zeros[gi];
    }
  return s;
}

std::vector<float> gaussian(std::size_t n, unsigned seed, float sd) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (auto &x : v) x = d(rng);
  return v;
}

TEST(CudaQuantizeCapi, CudaContextMatchesCpuContext) {
  gptq_context *gpu = nullptr;
  if (gptq_context_create(R"({"backend": "cuda", "log_level": "error"})", &gpu) != GPTQ_OK)
    GTEST_SKIP() << "no usable GPU: " << gptq_last_error();
  gptq_context *cpu = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu", "log_level": "error"})", &cpu), GPTQ_OK) << gptq_last_error();
  const int64_t rows = 256, cols = 512, n = 1024;
  auto x = gaussian(static_cast<std::size_t>(n * cols), 1, 1.0f);
  for (int64_t j = 0; j < cols; ++j)  // uneven column scales, as real inputs
    for (int64_t t = 0; t < n; ++t) x[static_cast<std::size_t>(t * cols + j)] *= 0.2f + 0.01f * static_cast<float>(j % 97);
  const auto w = gaussian(static_cast<std::size_t>(rows * cols), 2, 0.02f);
  // H as the caller would give it (the CPU's own accumulation, in double).
  std::vector<float> h(static_cast<std::size_t>(cols * cols));
  for (int64_t a = 0; a < cols; ++a)
    for (int64_t b = a; b < cols; ++b) {
      double sum = 0;
      for (int64_t t = 0; t < n; ++t)
        sum += static_cast<double>(x[static_cast<std::size_t>(t * cols + a)]) * x[static_cast<std::size_t>(t * cols + b)];
      h[static_cast<std::size_t>(a * cols + b)] = h[static_cast<std::size_t>(b * cols + a)] =
          static_cast<float>(2.0 * sum / static_cast<double>(n));
    }
  const char *configs[] = {R"({"bits": 4, "group_size": 128, "desc_act": true})",
                           R"({"bits": 3, "group_size": -1, "sym": false})",
                           R"({"bits": 2, "group_size": 32, "desc_act": true, "static_groups": true, "sym": false})",
                           R"({"bits": 8, "group_size": 128, "hessian_fp64": true})"};
  for (const char *config : configs)
    for (const bool from_activations : {false, true}) {
      gptq_matrix_result *rg = nullptr, *rc = nullptr;
      const float *hh = from_activations ? nullptr : h.data();
      const float *xx = from_activations ? x.data() : nullptr;
      const int64_t nn = from_activations ? n : 0;
      ASSERT_EQ(gptq_quantize_matrix(gpu, w.data(), rows, cols, hh, xx, nn, config, &rg), GPTQ_OK) << gptq_last_error();
      ASSERT_EQ(gptq_quantize_matrix(cpu, w.data(), rows, cols, hh, xx, nn, config, &rc), GPTQ_OK) << gptq_last_error();
      const Solved g = read(rg, rows, cols), c = read(rc, rows, cols);
      std::size_t same = 0;
      for (std::size_t i = 0; i < c.codes.size(); ++i) same += c.codes[i] == g.codes[i];
      const double agree = static_cast<double>(same) / static_cast<double>(c.codes.size());
      const double rel = std::fabs(g.loss - c.loss) / c.loss;
      const std::string what = std::string(config) + (from_activations ? " from activations" : " from H");
      std::printf("agreement C API %-90s codes %.5f%%  loss rel %.2e\n", what.c_str(), 100 * agree, rel);
      EXPECT_GE(agree, 0.999) << what;
      EXPECT_LE(rel, 1e-3) << what;
      EXPECT_EQ(g.damp, c.damp) << what;
      EXPECT_EQ(g.g_idx, c.g_idx) << what;
      gptq_matrix_result_destroy(rg);
      gptq_matrix_result_destroy(rc);
    }
  // The errors are the API's: a NaN in the activations is named.
  x[7 * cols + 9] = std::nanf("");
  gptq_matrix_result *r = nullptr;
  EXPECT_EQ(gptq_quantize_matrix(gpu, w.data(), rows, cols, nullptr, x.data(), n, nullptr, &r),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("activation [7][9] is not finite"), std::string::npos)
      << gptq_last_error();
  gptq_context_destroy(cpu);
  gptq_context_destroy(gpu);
}

}  // namespace
