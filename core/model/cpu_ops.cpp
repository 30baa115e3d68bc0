#include "core/model/cpu_ops.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/cpu/parallel_blas.h"
#include "core/cpu/row_chunks.h"
#include "core/base/error.h"

namespace gptq::model {
namespace {

void activate_range(Activation a, float *x, std::int64_t begin, std::int64_t end) {
  switch (a) {
    case Activation::Silu:
      for (std::int64_t i = begin; i < end; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
      break;
    case Activation::Relu:
      for (std::int64_t i = begin; i < end; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case Activation::Gelu:
      for (std::int64_t i = begin; i < end; ++i)
        x[i] = static_cast<float>(0.5 * x[i] * (1.0 + std::erf(x[i] / std::sqrt(2.0))));
      break;
    case Activation::GeluTanh: {
      const double c = std::sqrt(2.0 / 3.14159265358979323846);
      for (std::int64_t i = begin; i < end; ++i) {
        const double v = x[i];
        x[i] = static_cast<float>(0.5 * v * (1.0 + std::tanh(c * (v + 0.044715 * v * v * v))));
      }
      break;
    }
  }
}

}  // namespace

Matrix linear(const Compute &compute, const Matrix &x, const LinearWeights &w, std::string_view what) {
  // A weight another engine keeps on its device comes to the host for this
  // product only.
  std::vector<float> read_back;
  if (w.weight.empty() && w.held) {
    if (w.held->rows() != w.out_features || w.held->cols() != w.in_features)
      fail(Status::InvalidArgument, std::string(what) + ": the held weight is " + std::to_string(w.held->rows()) +
                                        " x " + std::to_string(w.held->cols()) + ", expected " +
                                        std::to_string(w.out_features) + " x " + std::to_string(w.in_features));
    read_back.resize(static_cast<std::size_t>(w.out_features) * static_cast<std::size_t>(w.in_features));
    w.held->read(read_back.data());
  }
  const std::vector<float> &weight = read_back.empty() ? w.weight : read_back;
  if (static_cast<std::int64_t>(weight.size()) != w.out_features * w.in_features)
    fail(Status::InvalidArgument, std::string(what) + ": weight has " + std::to_string(weight.size()) +
                                      " elements, expected " + std::to_string(w.out_features) + " x " +
                                      std::to_string(w.in_features));
  if (!w.bias.empty() && static_cast<std::int64_t>(w.bias.size()) != w.out_features)
    fail(Status::InvalidArgument, std::string(what) + ": bias has " + std::to_string(w.bias.size()) +
                                      " elements, expected " + std::to_string(w.out_features));
  return linear(compute, x, weight.data(), w.out_features, w.in_features, w.bias.empty() ? nullptr : w.bias.data(),
                what);
}

Matrix linear(const Compute &compute, const Matrix &x, const float *weight, std::int64_t out_features,
              std::int64_t in_features, const float *bias, std::string_view what) {
  if (x.cols != in_features)
    fail(Status::InvalidArgument, std::string(what) + ": input has " + std::to_string(x.cols) +
                                      " columns, the layer takes " + std::to_string(in_features));
  Matrix y(x.rows, out_features);
  if (x.rows == 0) return y;
  parallel_gemm(compute, Trans::No, Trans::Yes, x.rows, out_features, in_features, 1.0f, x.data.data(), x.cols,
                weight, in_features, 0.0f, y.data.data(), y.cols);
  if (bias) {
    parallel_rows(compute, y.rows, y.cols, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        float *row = y.row(r);
        for (std::int64_t c = 0; c < y.cols; ++c) row[c] += bias[c];
      }
    });
  }
  return y;
}

void norm_rows(const Compute &compute, const ModelSpec &spec, const Matrix &x, const NormWeights &w, Matrix &out) {
  if (&out != &x) out = Matrix(x.rows, x.cols);
  const std::int64_t n = x.cols;
  const double eps = spec.norm_eps;
  parallel_rows(compute, x.rows, n, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const float *in = x.row(r);
      float *o = out.row(r);
      // Sums in double: the row statistics then do not depend on summation order.
      if (spec.norm == NormKind::RmsNorm) {
        double ss = 0;
        for (std::int64_t i = 0; i < n; ++i) ss += static_cast<double>(in[i]) * in[i];
        const auto inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
        for (std::int64_t i = 0; i < n; ++i) o[i] = w.weight[static_cast<std::size_t>(i)] * (in[i] * inv);
      } else {
        double sum = 0;
        for (std::int64_t i = 0; i < n; ++i) sum += in[i];
        const double mean = sum / static_cast<double>(n);
        double var = 0;
        for (std::int64_t i = 0; i < n; ++i) var += (in[i] - mean) * (in[i] - mean);
        const double inv = 1.0 / std::sqrt(var / static_cast<double>(n) + eps);
        for (std::int64_t i = 0; i < n; ++i) {
          const auto k = static_cast<std::size_t>(i);
          const auto v = static_cast<float>((in[i] - mean) * inv) * w.weight[k];
          o[i] = w.bias.empty() ? v : v + w.bias[k];
        }
      }
    }
  });
}

Activation parse_activation(std::string_view name) {
  if (name == "silu" || name == "swish") return Activation::Silu;
  if (name == "relu") return Activation::Relu;
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
    return Activation::GeluTanh;
  fail(Status::Unsupported, "activation function '" + std::string(name) +
                                "' is not supported (silu, relu, gelu, gelu_new, gelu_pytorch_tanh)");
}

void activate(const Compute &compute, Activation a, float *x, std::int64_t n) {
  parallel_rows(compute, n, 1, [&](std::int64_t begin, std::int64_t end) { activate_range(a, x, begin, end); });
}

void add_in_place(const Compute &compute, Matrix &x, const Matrix &y) {
  if (x.rows != y.rows || x.cols != y.cols)
    fail(Status::InvalidArgument, "adding a " + std::to_string(y.rows) + "x" + std::to_string(y.cols) +
                                      " matrix to a " + std::to_string(x.rows) + "x" +
                                      std::to_string(x.cols) + " one");
  parallel_rows(compute, static_cast<std::int64_t>(x.data.size()), 1, [&](std::int64_t begin, std::int64_t end) {
    for (auto i = static_cast<std::size_t>(begin); i < static_cast<std::size_t>(end); ++i) x.data[i] += y.data[i];
  });
}

}  // namespace gptq::model
