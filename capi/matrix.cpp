// gptq_quantize_matrix, gptq_rtn_matrix and the gptq_matrix_result
// accessors: the GPTQ solver alone across the ABI.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "capi/api_guard.h"
#include "capi/call_scope.h"
#include "capi/context_handle.h"
#include "capi/matrix_result_handle.h"
#include "capi/output_buffer.h"
#include "core/backend/activations.h"
#include "core/config/typed.h"
#include "core/gptq_format/checkpoint_format.h"
#include "core/gptq_format/modules_to_skip.h"
#include "core/pipeline/options_from_config.h"
#include "core/quant/quantize_matrix.h"

using gptq::capi::guard;
using gptq::capi::require_arg;

namespace {

using gptq::Status;

// Elements of a rows x cols matrix; refuses sizes whose bytes do not fit
// in memory's address range (a caller's garbage, not a matrix).
std::size_t elements(int64_t rows, int64_t cols, const char *rows_name, const char *cols_name) {
  if (rows <= 0 || cols <= 0)
    gptq::fail(Status::InvalidArgument, std::string("argument '") + rows_name + "' (" +
                                            std::to_string(rows) + ") and '" + cols_name + "' (" +
                                            std::to_string(cols) + ") must be > 0");
  std::size_t n = 0, bytes = 0;
  if (__builtin_mul_overflow(static_cast<std::size_t>(rows), static_cast<std::size_t>(cols), &n) ||
      __builtin_mul_overflow(n, sizeof(float), &bytes) || bytes > (std::size_t{1} << 62))
    gptq::fail(Status::InvalidArgument, std::string(rows_name) + " x " + cols_name + " = " +
                                            std::to_string(rows) + " x " + std::to_string(cols) +
                                            " is too large");
  return n;
}

// Packs in the config's format; a shape the format cannot hold is kept as an
// error for the packed accessors rather than failing the whole call.
std::unique_ptr<gptq_matrix_result> make_result(gptq::quant::QuantResult r,
                                                const gptq::schema::QuantizeConfigT &config) {
  auto h = std::make_unique<gptq_matrix_result>();
  h->result = std::move(r);
  try {
    h->packed = gptq::quant::pack_gptq(h->result, gptq::quant::checkpoint_format(config));
  } catch (const gptq::Error &e) {
    h->pack_status = e.status();
    h->pack_error = e.what();
  }
  return h;
}

// The caller's activations as the engines take them: copied into the
// engine's scratch when it reads them on the host.
class CallerActivations final : public gptq::Activations {
 public:
  CallerActivations(const float *x, int64_t rows, int64_t cols) : x_(x), rows_(rows), cols_(cols) {}
  int64_t rows() const override { return rows_; }
  int64_t cols() const override { return cols_; }
  const gptq::Matrix &host(gptq::Matrix &scratch) const override {
    scratch = gptq::Matrix(rows_, cols_);
    std::copy(x_, x_ + rows_ * cols_, scratch.data.begin());
    return scratch;
  }

 private:
  const float *x_;
  int64_t rows_, cols_;
};

const gptq::quant::PackedGptq &packed_of(const gptq_matrix_result *r) {
  if (!r->packed) gptq::fail(r->pack_status, "no packed tensors for this matrix: " + r->pack_error);
  return *r->packed;
}

template <class T>
void give(const std::vector<T> &v, int64_t rows, int64_t cols, const T **data, int64_t *r,
          int64_t *c) {
  require_arg(data, "data");
  require_arg(r, "rows");
  require_arg(c, "cols");
  *data = v.data();
  *r = rows;
  *c = cols;
}

// The copying form of `give`: the array into the caller's buffer (gptq.h's
// capacity rule, in elements), its shape into rows/cols when not NULL.
template <class T>
void copy(const std::vector<T> &v, int64_t rows, int64_t cols, T *out, size_t cap, size_t *count,
          int64_t *r, int64_t *c) {
  if (cap > 0) require_arg(out, "out");
  require_arg(count, "count");
  if (r) *r = rows;
  if (c) *c = cols;
  gptq::capi::write_elements(v.data(), v.size(), out, cap, count);
}

}  // namespace

extern "C" {

GPTQ_API gptq_status gptq_quantize_matrix(gptq_context *ctx, const float *weights, int64_t rows,
                                          int64_t cols, const float *hessian,
                                          const float *activations, int64_t n,
                                          const char *quantize_json, gptq_matrix_result **out) {
  return guard(__func__, [&, api = __func__] {
    require_arg(ctx, "ctx");
    const gptq::capi::ContextCall call(ctx, api);
    require_arg(weights, "weights");
    require_arg(out, "out");
    elements(rows, cols, "rows", "cols");
    if ((hessian == nullptr) == (activations == nullptr))
      gptq::fail(Status::InvalidArgument,
                 hessian ? "give either 'hessian' or 'activations', not both"
                         : "give 'hessian' (cols x cols) or 'activations' (n x cols); both are NULL");
    const auto config = gptq::config::parse_quantize_config(quantize_json ? quantize_json : "");
    const auto options = gptq::quant::quant_options(config);
    const gptq::Compute compute(*ctx->runtime.pool());
    // The context's quantize engine (CUDA's when the context has a GPU):
    // the Hessian lives where that engine computes.
    const auto engine = ctx->runtime.quantize_engine();
    gptq::quant::validate_options(options, cols, "matrix");
    std::unique_ptr<gptq::LayerHessian> h;
    if (hessian) {
      if (n != 0)
        gptq::fail(Status::InvalidArgument, "argument 'n' is " + std::to_string(n) +
                                                " but 'activations' is NULL (give 0 with a Hessian)");
      elements(cols, cols, "cols", "cols");
      h = engine->load_hessian(compute, hessian, cols);
    } else {
      elements(n, cols, "n", "cols");
      h = engine->new_hessian(cols, options.hessian_fp64);
      engine->accumulate(compute, *h, CallerActivations(activations, n, cols), n);
      engine->finish(compute, *h);
    }
    gptq::quant::QuantResult r = engine->solve(compute, weights, rows, cols, *h, options, "matrix");
    *out = make_result(std::move(r), config).release();
  });
}

GPTQ_API gptq_status gptq_rtn_matrix(gptq_context *ctx, const float *weights, int64_t rows,
                                     int64_t cols, const char *quantize_json,
                                     gptq_matrix_result **out) {
  return guard(__func__, [&, api = __func__] {
    require_arg(ctx, "ctx");
    const gptq::capi::ContextCall call(ctx, api);
    require_arg(weights, "weights");
    require_arg(out, "out");
    elements(rows, cols, "rows", "cols");
    const auto config = gptq::config::parse_quantize_config(quantize_json ? quantize_json : "");
    const gptq::Compute compute(*ctx->runtime.pool());
    auto r = gptq::quant::rtn_matrix(compute, weights, rows, cols, gptq::quant::quant_options(config), "matrix");
    *out = make_result(std::move(r), config).release();
  });
}

GPTQ_API void gptq_matrix_result_destroy(gptq_matrix_result *result) {
  (void)guard(__func__, [&] { delete result; });
}

GPTQ_API gptq_status gptq_matrix_result_qweight(const gptq_matrix_result *result,
                                                const int32_t **data, int64_t *rows,
                                                int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &p = packed_of(result);
    give(p.qweight, p.in_features * p.bits / 32, p.out_features, data, rows, cols);
  });
}

GPTQ_API gptq_status gptq_matrix_result_qzeros(const gptq_matrix_result *result,
                                               const int32_t **data, int64_t *rows,
                                               int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &p = packed_of(result);
    give(p.qzeros, p.groups, p.out_features * p.bits / 32, data, rows, cols);
  });
}

GPTQ_API gptq_status gptq_matrix_result_scales_fp16(const gptq_matrix_result *result,
                                                    const uint16_t **data, int64_t *rows,
                                                    int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &p = packed_of(result);
    give(p.scales, p.groups, p.out_features, data, rows, cols);
  });
}

GPTQ_API gptq_status gptq_matrix_result_g_idx(const gptq_matrix_result *result,
                                              const int32_t **data, int64_t *size) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    require_arg(data, "data");
    require_arg(size, "size");
    const auto &p = packed_of(result);
    *data = p.g_idx.data();
    *size = p.in_features;
  });
}

GPTQ_API gptq_status gptq_matrix_result_dequantized(const gptq_matrix_result *result,
                                                    const float **data, int64_t *rows,
                                                    int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &r = result->result;
    give(r.dequant, r.rows, r.cols, data, rows, cols);
  });
}

GPTQ_API gptq_status gptq_matrix_result_scales(const gptq_matrix_result *result,
                                               const float **data, int64_t *rows,
                                               int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &r = result->result;
    give(r.scales, r.groups, r.rows, data, rows, cols);
  });
}

GPTQ_API gptq_status gptq_matrix_result_zeros(const gptq_matrix_result *result,
                                              const int32_t **data, int64_t *rows,
                                              int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &r = result->result;
    give(r.zeros, r.groups, r.rows, data, rows, cols);
  });
}

GPTQ_API gptq_status gptq_matrix_result_loss(const gptq_matrix_result *result, double *loss) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    require_arg(loss, "loss");
    *loss = result->result.loss;
  });
}

GPTQ_API gptq_status gptq_matrix_result_damp_percent(const gptq_matrix_result *result,
                                                     double *damp_percent) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    require_arg(damp_percent, "damp_percent");
    *damp_percent = result->result.damp_percent;
  });
}

GPTQ_API gptq_status gptq_matrix_result_qweight_copy(const gptq_matrix_result *result, int32_t *out,
                                                     size_t cap, size_t *count, int64_t *rows, int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &p = packed_of(result);
    copy(p.qweight, p.in_features * p.bits / 32, p.out_features, out, cap, count, rows, cols);
  });
}

GPTQ_API gptq_status gptq_matrix_result_qzeros_copy(const gptq_matrix_result *result, int32_t *out,
                                                    size_t cap, size_t *count, int64_t *rows, int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &p = packed_of(result);
    copy(p.qzeros, p.groups, p.out_features * p.bits / 32, out, cap, count, rows, cols);
  });
}

GPTQ_API gptq_status gptq_matrix_result_scales_fp16_copy(const gptq_matrix_result *result, uint16_t *out,
                                                         size_t cap, size_t *count, int64_t *rows,
                                                         int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &p = packed_of(result);
    copy(p.scales, p.groups, p.out_features, out, cap, count, rows, cols);
  });
}

GPTQ_API gptq_status gptq_matrix_result_g_idx_copy(const gptq_matrix_result *result, int32_t *out, size_t cap,
                                                   size_t *count) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &p = packed_of(result);
    copy(p.g_idx, 1, p.in_features, out, cap, count, nullptr, nullptr);
  });
}

GPTQ_API gptq_status gptq_matrix_result_dequantized_copy(const gptq_matrix_result *result, float *out,
                                                         size_t cap, size_t *count, int64_t *rows,
                                                         int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &r = result->result;
    copy(r.dequant, r.rows, r.cols, out, cap, count, rows, cols);
  });
}

GPTQ_API gptq_status gptq_matrix_result_scales_copy(const gptq_matrix_result *result, float *out, size_t cap,
                                                    size_t *count, int64_t *rows, int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &r = result->result;
    copy(r.scales, r.groups, r.rows, out, cap, count, rows, cols);
  });
}

GPTQ_API gptq_status gptq_matrix_result_zeros_copy(const gptq_matrix_result *result, int32_t *out, size_t cap,
                                                   size_t *count, int64_t *rows, int64_t *cols) {
  return guard(__func__, [&] {
    require_arg(result, "result");
    const auto &r = result->result;
    copy(r.zeros, r.groups, r.rows, out, cap, count, rows, cols);
  });
}

}  // extern "C"
