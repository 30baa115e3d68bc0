// gptq_quantize_matrix / gptq_rtn_matrix through the C API: the results equal
// calling the core solver directly (which has its own tests against the
// Python reference), the packed tensors equal the core packer's, and bad
// input fails with a message naming what was wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/config/typed.h"
#include "core/pipeline/options_from_config.h"
#include "core/pipeline/pack_result.h"
#include "core/quant/hessian.h"
#include "core/quant/quantize_matrix.h"
#include "gptq/gptq.h"
#include "tests/support/random_matrix.h"
#include "tests/support/test_compute.h"

namespace {

using ::gptq::testing::random_matrix;

class MatrixApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(gptq_context_create(R"({"backend": "cpu", "threads": 1})", &ctx_), GPTQ_OK)
        << gptq_last_error();
  }
  void TearDown() override {
    gptq_matrix_result_destroy(result_);
    gptq_context_destroy(ctx_);
  }
  gptq_context *ctx_ = nullptr;
  gptq_matrix_result *result_ = nullptr;
};

// The core solver's options for `json`, as the C API makes them.
gptq::quant::QuantOptions options(const char *json) {
  return gptq::quant::quant_options(gptq::config::parse_quantize_config(json));
}

template <class T>
std::vector<T> to_vector(const T *p, int64_t rows, int64_t cols) {
  return std::vector<T>(p, p + rows * cols);
}

// A copying accessor as a caller without borrowed pointers uses it: one call
// with cap 0 for the count and shape, then a buffer that large.
template <class T>
struct Copied {
  std::vector<T> data;
  int64_t rows = -1, cols = -1;
};
template <class T, class Fn>
Copied<T> copied(Fn fn, const gptq_matrix_result *r) {
  Copied<T> c;
  size_t count = 0;
  EXPECT_EQ(fn(r, nullptr, 0, &count, &c.rows, &c.cols), GPTQ_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(static_cast<int64_t>(count), c.rows * c.cols);
  c.data.assign(count, T{});
  size_t again = 0;
  EXPECT_EQ(fn(r, c.data.data(), c.data.size(), &again, nullptr, nullptr), GPTQ_OK) << gptq_last_error();
  EXPECT_EQ(again, count);
  return c;
}

// Every copying accessor of `r` gives the borrowing accessor's array and shape.
void expect_copies_equal_borrowed(const gptq_matrix_result *r) {
  int64_t rows = 0, cols = 0;
  const float *f = nullptr;
  const int32_t *i = nullptr;
  const uint16_t *h = nullptr;
  auto same = [&](const auto &c, const auto *p) {
    EXPECT_EQ(c.rows, rows);
    EXPECT_EQ(c.cols, cols);
    EXPECT_EQ(c.data, to_vector(p, rows, cols));
  };
  ASSERT_EQ(gptq_matrix_result_dequantized(r, &f, &rows, &cols), GPTQ_OK);
  same(copied<float>(gptq_matrix_result_dequantized_copy, r), f);
  ASSERT_EQ(gptq_matrix_result_scales(r, &f, &rows, &cols), GPTQ_OK);
  same(copied<float>(gptq_matrix_result_scales_copy, r), f);
  ASSERT_EQ(gptq_matrix_result_zeros(r, &i, &rows, &cols), GPTQ_OK);
  same(copied<int32_t>(gptq_matrix_result_zeros_copy, r), i);
  ASSERT_EQ(gptq_matrix_result_qweight(r, &i, &rows, &cols), GPTQ_OK);
  same(copied<int32_t>(gptq_matrix_result_qweight_copy, r), i);
  ASSERT_EQ(gptq_matrix_result_qzeros(r, &i, &rows, &cols), GPTQ_OK);
  same(copied<int32_t>(gptq_matrix_result_qzeros_copy, r), i);
  ASSERT_EQ(gptq_matrix_result_scales_fp16(r, &h, &rows, &cols), GPTQ_OK);
  same(copied<uint16_t>(gptq_matrix_result_scales_fp16_copy, r), h);
  int64_t size = 0;
  ASSERT_EQ(gptq_matrix_result_g_idx(r, &i, &size), GPTQ_OK);
  size_t count = 0;
  EXPECT_EQ(gptq_matrix_result_g_idx_copy(r, nullptr, 0, &count), GPTQ_ERR_BUFFER_TOO_SMALL);
  ASSERT_EQ(static_cast<int64_t>(count), size);
  std::vector<int32_t> g(count);
  ASSERT_EQ(gptq_matrix_result_g_idx_copy(r, g.data(), g.size(), &count), GPTQ_OK);
  EXPECT_EQ(g, to_vector(i, 1, size));
}

// Every accessor of `r` against the core result and its packing.
void expect_same(const gptq_matrix_result *r, const gptq::quant::QuantResult &core,
                 gptq::quant::CheckpointFormat format) {
  const auto packed = gptq::quant::pack_gptq(core, format);
  int64_t rows = 0, cols = 0;
  const float *f = nullptr;
  ASSERT_EQ(gptq_matrix_result_dequantized(r, &f, &rows, &cols), GPTQ_OK);
  EXPECT_EQ(rows, core.rows);
  EXPECT_EQ(cols, core.cols);
  EXPECT_EQ(to_vector(f, rows, cols), core.dequant);
  ASSERT_EQ(gptq_matrix_result_scales(r, &f, &rows, &cols), GPTQ_OK);
  EXPECT_EQ(rows, core.groups);
  EXPECT_EQ(to_vector(f, rows, cols), core.scales);
  const int32_t *i = nullptr;
  ASSERT_EQ(gptq_matrix_result_zeros(r, &i, &rows, &cols), GPTQ_OK);
  EXPECT_EQ(to_vector(i, rows, cols), core.zeros);
  ASSERT_EQ(gptq_matrix_result_qweight(r, &i, &rows, &cols), GPTQ_OK);
  EXPECT_EQ(rows, core.cols * core.bits / 32);
  EXPECT_EQ(cols, core.rows);
  EXPECT_EQ(to_vector(i, rows, cols), packed.qweight);
  ASSERT_EQ(gptq_matrix_result_qzeros(r, &i, &rows, &cols), GPTQ_OK);
  EXPECT_EQ(rows, core.groups);
  EXPECT_EQ(cols, core.rows * core.bits / 32);
  EXPECT_EQ(to_vector(i, rows, cols), packed.qzeros);
  const uint16_t *h = nullptr;
  ASSERT_EQ(gptq_matrix_result_scales_fp16(r, &h, &rows, &cols), GPTQ_OK);
  EXPECT_EQ(rows, core.groups);
  EXPECT_EQ(cols, core.rows);
  EXPECT_EQ(to_vector(h, rows, cols), packed.scales);
  int64_t size = 0;
  ASSERT_EQ(gptq_matrix_result_g_idx(r, &i, &size), GPTQ_OK);
  EXPECT_EQ(size, core.cols);
  EXPECT_EQ(to_vector(i, 1, size), core.g_idx);
  double loss = -1, damp = -1;
  ASSERT_EQ(gptq_matrix_result_loss(r, &loss), GPTQ_OK);
  ASSERT_EQ(gptq_matrix_result_damp_percent(r, &damp), GPTQ_OK);
  EXPECT_EQ(loss, core.loss);
  EXPECT_EQ(damp, core.damp_percent);
  expect_copies_equal_borrowed(r);
}

constexpr int64_t kRows = 64, kCols = 128, kN = 256;

TEST_F(MatrixApi, GptqWithActivationsEqualsTheCoreSolver) {
  const auto w = random_matrix(kRows, kCols, 1);
  const auto x = random_matrix(kN, kCols, 2);
  const char *json = R"({"bits": 4, "group_size": 32, "desc_act": true, "sym": false})";
  ASSERT_EQ(gptq_quantize_matrix(ctx_, w.data(), kRows, kCols, nullptr, x.data(), kN, json, &result_),
            GPTQ_OK)
      << gptq_last_error();

  const auto o = options(json);
  EXPECT_TRUE(o.positive_zero);  // asymmetric in format v1 (the default)
  gptq::quant::HessianAccumulator acc(kCols, false);
  acc.add_batch(test_compute(), x.data(), kN);
  const auto h = acc.hessian(test_compute());
  const auto core = gptq::quant::quantize_matrix(test_compute(), w.data(), kRows, kCols, h.data(), o, "m");
  EXPECT_GT(core.loss, 0.0);
  expect_same(result_, core, gptq::quant::CheckpointFormat::V1);
}

TEST_F(MatrixApi, GptqWithHessianAndV2Format) {
  const auto w = random_matrix(kRows, kCols, 3);
  const auto x = random_matrix(kN, kCols, 4);
  gptq::quant::HessianAccumulator acc(kCols, true);
  acc.add_batch(test_compute(), x.data(), kN);
  const auto h = acc.hessian(test_compute());
  const char *json =
      R"({"bits": 3, "group_size": -1, "desc_act": false, "damp_percent": 0.05,
          "checkpoint_format": "gptq_v2", "mse": {"enabled": true, "grid": 20}})";
  ASSERT_EQ(gptq_quantize_matrix(ctx_, w.data(), kRows, kCols, h.data(), nullptr, 0, json, &result_),
            GPTQ_OK)
      << gptq_last_error();
  const auto o = options(json);
  const auto core = gptq::quant::quantize_matrix(test_compute(), w.data(), kRows, kCols, h.data(), o, "m");
  expect_same(result_, core, gptq::quant::CheckpointFormat::V2);
}

TEST_F(MatrixApi, RtnEqualsTheCoreBaseline) {
  const auto w = random_matrix(kRows, kCols, 5);
  const char *json = R"({"bits": 8, "group_size": 64})";
  ASSERT_EQ(gptq_rtn_matrix(ctx_, w.data(), kRows, kCols, json, &result_), GPTQ_OK) << gptq_last_error();
  const auto o = options(json);
  const auto core = gptq::quant::rtn_matrix(test_compute(), w.data(), kRows, kCols, o);
  expect_same(result_, core, gptq::quant::CheckpointFormat::V1);
  double loss = -1;
  ASSERT_EQ(gptq_matrix_result_loss(result_, &loss), GPTQ_OK);
  EXPECT_EQ(loss, 0.0);
}

TEST_F(MatrixApi, DefaultsComeFromTheSchema) {
  // NULL JSON: the schema's 4 bits, group 128, symmetric (zero 8 everywhere).
  const auto w = random_matrix(kRows, kCols, 6);
  ASSERT_EQ(gptq_rtn_matrix(ctx_, w.data(), kRows, kCols, nullptr, &result_), GPTQ_OK);
  const int32_t *z = nullptr;
  int64_t rows = 0, cols = 0;
  ASSERT_EQ(gptq_matrix_result_zeros(result_, &z, &rows, &cols), GPTQ_OK);
  EXPECT_EQ(rows, kCols / 128);
  EXPECT_EQ(cols, kRows);
  for (int64_t i = 0; i < rows * cols; ++i) EXPECT_EQ(z[i], 8);
}

TEST_F(MatrixApi, UnpackableShapeStillGivesTheUnpackedResult) {
  const int64_t rows = 10;  // 10 * 4 bits is not a multiple of 32: no qzeros
  const auto w = random_matrix(rows, kCols, 7);
  ASSERT_EQ(gptq_rtn_matrix(ctx_, w.data(), rows, kCols, nullptr, &result_), GPTQ_OK)
      << gptq_last_error();
  const float *f = nullptr;
  int64_t r = 0, c = 0;
  EXPECT_EQ(gptq_matrix_result_dequantized(result_, &f, &r, &c), GPTQ_OK);
  const int32_t *q = nullptr;
  EXPECT_EQ(gptq_matrix_result_qweight(result_, &q, &r, &c), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("out_features"), std::string::npos)
      << gptq_last_error();
  size_t count = 7;
  EXPECT_EQ(gptq_matrix_result_qzeros_copy(result_, nullptr, 0, &count, nullptr, nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("out_features"), std::string::npos)
      << gptq_last_error();
  EXPECT_EQ(count, 7u);
  std::vector<float> d(static_cast<size_t>(rows * kCols));
  EXPECT_EQ(gptq_matrix_result_dequantized_copy(result_, d.data(), d.size(), &count, nullptr, nullptr), GPTQ_OK);
  EXPECT_EQ(std::vector<float>(f, f + d.size()), d);
}

struct BadCase {
  const char *what;
  gptq_status status;
  const char *message_part;
};

class MatrixApiErrors : public MatrixApi {
 protected:
  void expect_error(gptq_status got, gptq_status want, const char *part) {
    EXPECT_EQ(got, want) << gptq_status_name(got) << ": " << gptq_last_error();
    EXPECT_NE(std::string(gptq_last_error()).find(part), std::string::npos)
        << "message: " << gptq_last_error() << "\nexpected to contain: " << part;
    EXPECT_EQ(result_, nullptr);
  }
  std::vector<float> w_ = random_matrix(kRows, kCols, 8);
  std::vector<float> x_ = random_matrix(kN, kCols, 9);
};

TEST_F(MatrixApiErrors, NanInTheWeightsNamesThePosition) {
  w_[3 * kCols + 5] = std::numeric_limits<float>::quiet_NaN();
  expect_error(gptq_quantize_matrix(ctx_, w_.data(), kRows, kCols, nullptr, x_.data(), kN, nullptr,
                                    &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "weight[3][5]");
  expect_error(gptq_rtn_matrix(ctx_, w_.data(), kRows, kCols, nullptr, &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "weight[3][5]");
}

TEST_F(MatrixApiErrors, InfInTheActivationsOrHessian) {
  x_[7] = std::numeric_limits<float>::infinity();
  expect_error(gptq_quantize_matrix(ctx_, w_.data(), kRows, kCols, nullptr, x_.data(), kN, nullptr,
                                    &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "activation [0][7] is not finite");
  std::vector<float> h(kCols * kCols, 0.0f);
  for (int64_t i = 0; i < kCols; ++i) h[i * kCols + i] = 1.0f;
  h[2 * kCols + 1] = std::numeric_limits<float>::quiet_NaN();
  expect_error(gptq_quantize_matrix(ctx_, w_.data(), kRows, kCols, h.data(), nullptr, 0, nullptr,
                                    &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "hessian[2][1]");
}

TEST_F(MatrixApiErrors, SizesAndPointers) {
  expect_error(gptq_rtn_matrix(ctx_, w_.data(), 0, kCols, nullptr, &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "'rows' (0)");
  expect_error(gptq_rtn_matrix(ctx_, w_.data(), kRows, -3, nullptr, &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "'cols' (-3)");
  expect_error(gptq_rtn_matrix(ctx_, w_.data(), INT64_MAX / 2, INT64_MAX / 2, nullptr, &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "too large");
  expect_error(gptq_quantize_matrix(ctx_, w_.data(), kRows, kCols, nullptr, x_.data(), 0, nullptr,
                                    &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "'n' (0)");
  expect_error(gptq_quantize_matrix(ctx_, w_.data(), kRows, kCols, nullptr, nullptr, 0, nullptr,
                                    &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "both are NULL");
  expect_error(gptq_quantize_matrix(ctx_, w_.data(), kRows, kCols, x_.data(), x_.data(), kN, nullptr,
                                    &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "not both");
  expect_error(gptq_quantize_matrix(ctx_, w_.data(), kRows, kCols, x_.data(), nullptr, 5, nullptr,
                                    &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "'n' is 5");
  expect_error(gptq_rtn_matrix(nullptr, w_.data(), kRows, kCols, nullptr, &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "'ctx'");
  expect_error(gptq_rtn_matrix(ctx_, nullptr, kRows, kCols, nullptr, &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "'weights'");
  EXPECT_EQ(gptq_rtn_matrix(ctx_, w_.data(), kRows, kCols, nullptr, nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
}

TEST_F(MatrixApiErrors, ConfigErrorsNameTheField) {
  expect_error(gptq_rtn_matrix(ctx_, w_.data(), kRows, kCols, R"({"bits": 5})", &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "bits");
  expect_error(gptq_rtn_matrix(ctx_, w_.data(), kRows, kCols, R"({"bits": 4,)", &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "");
  expect_error(gptq_rtn_matrix(ctx_, w_.data(), kRows, kCols, R"({"bitz": 4})", &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "bitz");
  // Valid for the schema, but 128 columns do not split into groups of 48.
  expect_error(gptq_quantize_matrix(ctx_, w_.data(), kRows, kCols, nullptr, x_.data(), kN,
                                    R"({"group_size": 48})", &result_),
               GPTQ_ERR_INVALID_ARGUMENT, "group_size");
}

TEST_F(MatrixApiErrors, AccessorsCheckTheirArguments) {
  ASSERT_EQ(gptq_rtn_matrix(ctx_, w_.data(), kRows, kCols, nullptr, &result_), GPTQ_OK);
  const float *f = nullptr;
  int64_t r = 0;
  EXPECT_EQ(gptq_matrix_result_dequantized(nullptr, &f, &r, &r), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_matrix_result_dequantized(result_, &f, nullptr, &r), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_matrix_result_loss(result_, nullptr), GPTQ_ERR_INVALID_ARGUMENT);
  gptq_matrix_result_destroy(nullptr);  // a no-op
}

// The caller's-buffer rule: a short buffer gets nothing and the count needed;
// NULL with a capacity or a NULL count is refused.
TEST_F(MatrixApiErrors, CopiesKeepTheBufferRule) {
  ASSERT_EQ(gptq_rtn_matrix(ctx_, w_.data(), kRows, kCols, nullptr, &result_), GPTQ_OK);
  const size_t need = static_cast<size_t>(kRows * kCols);
  std::vector<float> shortbuf(need - 1, -7.0f);
  size_t count = 0;
  int64_t rows = 0, cols = 0;
  EXPECT_EQ(gptq_matrix_result_dequantized_copy(result_, shortbuf.data(), shortbuf.size(), &count, &rows, &cols),
            GPTQ_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(count, need);
  EXPECT_EQ(rows, kRows);
  EXPECT_EQ(cols, kCols);
  EXPECT_EQ(shortbuf, std::vector<float>(need - 1, -7.0f)) << "nothing written";
  EXPECT_NE(std::string(gptq_last_error()).find(std::to_string(need) + " needed"), std::string::npos)
      << gptq_last_error();
  EXPECT_EQ(gptq_matrix_result_dequantized_copy(result_, nullptr, need, &count, nullptr, nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_matrix_result_dequantized_copy(result_, shortbuf.data(), 0, nullptr, nullptr, nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_matrix_result_zeros_copy(nullptr, nullptr, 0, &count, nullptr, nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
  // A capacity whose bytes would not fit in size_t is just a large capacity.
  std::vector<int32_t> g(kCols);
  EXPECT_EQ(gptq_matrix_result_g_idx_copy(result_, g.data(), SIZE_MAX, &count), GPTQ_OK);
  EXPECT_EQ(count, static_cast<size_t>(kCols));
}

}  // namespace
