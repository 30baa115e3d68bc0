#include "core/backend/cpu_quantize_engine.h"

#include <optional>
#include <utility>
#include <vector>

#include "core/base/error.h"
#include "core/quant/hessian.h"
#include "core/quant/layer_loss.h"
#include "core/quant/quantize_matrix.h"

namespace gptq {
namespace {

class CpuHessian final : public LayerHessian {
 public:
  CpuHessian(std::int64_t columns, bool fp64) : cols(columns), acc(std::in_place, columns, fp64) {}
  // A finished H given whole: no accumulator.
  CpuHessian(std::int64_t columns, std::vector<float> matrix) : cols(columns), h(std::move(matrix)) {}
  std::int64_t columns() const override { return cols; }

  std::int64_t cols;
  std::optional<quant::HessianAccumulator> acc;  // reset by finish()
  std::optional<std::vector<float>> h;           // set by finish()
};

CpuHessian &cpu(LayerHessian &h) {
  auto *c = dynamic_cast<CpuHessian *>(&h);
  if (!c) fail(Status::Internal, "cpu quantize engine: a Hessian made by another engine");
  return *c;
}

const std::vector<float> &finished(const LayerHessian &h) {
  const auto *c = dynamic_cast<const CpuHessian *>(&h);
  if (!c) fail(Status::Internal, "cpu quantize engine: a Hessian made by another engine");
  if (!c->h) fail(Status::Internal, "cpu quantize engine: the Hessian was not finished");
  return *c->h;
}

}  // namespace

std::unique_ptr<LayerHessian> CpuQuantizeEngine::new_hessian(std::int64_t columns, bool fp64) const {
  return std::make_unique<CpuHessian>(columns, fp64);
}

void CpuQuantizeEngine::accumulate(const Compute &compute, LayerHessian &h, const Activations &input,
                                   std::int64_t samples) const {
  CpuHessian &c = cpu(h);
  if (c.h) fail(Status::Internal, "cpu quantize engine: accumulating into a finished Hessian");
  Matrix scratch;
  const Matrix &x = input.host(scratch);
  c.acc->add_batch(compute, x.data.data(), x.rows, samples);
}

void CpuQuantizeEngine::finish(const Compute &compute, LayerHessian &h) const {
  CpuHessian &c = cpu(h);
  if (c.h) fail(Status::Internal, "cpu quantize engine: the Hessian was finished twice");
  c.h = c.acc->hessian(compute);
  c.acc.reset();
}

std::unique_ptr<LayerHessian> CpuQuantizeEngine::load_hessian(const Compute &, const float *h,
                                                              std::int64_t columns) const {
  if (columns <= 0) fail(Status::InvalidArgument, "cpu quantize engine: columns must be > 0");
  const auto kk = static_cast<std::size_t>(columns) * static_cast<std::size_t>(columns);
  return std::make_unique<CpuHessian>(columns, std::vector<float>(h, h + kk));
}

quant::QuantResult CpuQuantizeEngine::solve(const Compute &compute, const float *w, std::int64_t rows,
                                            std::int64_t cols, const LayerHessian &h,
                                            const quant::QuantOptions &options, std::string_view layer,
                                            const Activations *) const {
  return quant::quantize_matrix(compute, w, rows, cols, finished(h).data(), options, layer);
}

quant::QuantResult CpuQuantizeEngine::rtn(const Compute &compute, const float *w, std::int64_t rows,
                                          std::int64_t cols, const quant::QuantOptions &options,
                                          std::string_view layer) const {
  return quant::rtn_matrix(compute, w, rows, cols, options, layer);
}

double CpuQuantizeEngine::loss(const Compute &compute, const float *w, const float *w_hat, const LayerHessian &h,
                               std::int64_t rows, std::int64_t cols) const {
  return quant::layer_loss(compute, w, w_hat, finished(h).data(), rows, cols);
}

}  // namespace gptq
