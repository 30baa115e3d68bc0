#include "core/backend/cpu_quantize_engine.h"

#include <optional>
#include <vector>

#include "core/base/error.h"
#include "core/quant/hessian.h"
#include "core/quant/layer_loss.h"
#include "core/quant/quantize_matrix.h"

namespace gptq {
namespace {

class CpuHessian final : public LayerHessian {
 public:
  CpuHessian(std::int64_t columns, bool fp64) : acc(columns, fp64) {}
  std::int64_t columns() const override { return acc.cols(); }

  quant::HessianAccumulator acc;
  std::optional<std::vector<float>> h;  // set by finish()
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
  c.acc.add_batch(compute, x.data.data(), x.rows, samples);
}

void CpuQuantizeEngine::finish(const Compute &compute, LayerHessian &h) const {
  CpuHessian &c = cpu(h);
  if (c.h) fail(Status::Internal, "cpu quantize engine: the Hessian was finished twice");
  c.h = c.acc.hessian(compute);
}

quant::QuantResult CpuQuantizeEngine::solve(const Compute &compute, const float *w, std::int64_t rows,
                                            std::int64_t cols, const LayerHessian &h,
                                            const quant::QuantOptions &options, std::string_view layer) const {
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
