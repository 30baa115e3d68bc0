// The elementwise and matrix operations of the CPU forward pass, in fp32, on
// a Compute's pool: matrix products as OpenBLAS calls on fixed tiles
// (core/cpu/parallel_blas.h), the rest as passes over chunks of rows. No
// result depends on the thread count.
#pragma once

#include <string_view>

#include "core/cpu/compute.h"
#include "core/model/block_weights.h"
#include "core/model/model_config.h"
#include "core/tensor/matrix.h"

namespace gptq::model {

// y[rows, out] = x[rows, in] W^T + b. Throws Error(InvalidArgument) when x's
// width is not the layer's in_features (naming `what`).
Matrix linear(const Compute &compute, const Matrix &x, const LinearWeights &w, std::string_view what);
// The same with a weight [out_features, in_features] held elsewhere (tied
// embeddings); `bias` may be null.
Matrix linear(const Compute &compute, const Matrix &x, const float *weight, std::int64_t out_features,
              std::int64_t in_features, const float *bias, std::string_view what);

// Row-wise norm by the model's kind (RMSNorm or LayerNorm) and eps, into `out`
// (which may be `x` itself).
void norm_rows(const Compute &compute, const ModelSpec &spec, const Matrix &x, const NormWeights &w, Matrix &out);

// The MLP activation function of config.json, applied in place.
enum class Activation { Silu, Relu, Gelu, GeluTanh };
// Throws Error(Unsupported) naming the function for one we do not implement.
Activation parse_activation(std::string_view name);
void activate(const Compute &compute, Activation a, float *x, std::int64_t n);

// x += y, elementwise (same shape; InvalidArgument otherwise).
void add_in_place(const Compute &compute, Matrix &x, const Matrix &y);

}  // namespace gptq::model
