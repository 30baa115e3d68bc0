// The CPU quantize engine: the Hessian, GPTQ solve, RTN and layer loss of
// core/quant on the host, unchanged (the same calls in the same order, so the
// results are those of the CPU code itself, bit for bit).
#pragma once

#include "core/backend/quantize_engine.h"

namespace gptq {

class CpuQuantizeEngine final : public QuantizeEngine {
 public:
  std::string_view backend() const override { return "cpu"; }
  std::unique_ptr<LayerHessian> new_hessian(std::int64_t columns, bool fp64) const override;
  void accumulate(const Compute &compute, LayerHessian &h, const Activations &input,
                  std::int64_t samples) const override;
  void finish(const Compute &compute, LayerHessian &h) const override;
  std::unique_ptr<LayerHessian> load_hessian(const Compute &compute, const float *h,
                                             std::int64_t columns) const override;
  quant::QuantResult solve(const Compute &compute, const float *w, std::int64_t rows, std::int64_t cols,
                           const LayerHessian &h, const quant::QuantOptions &options, std::string_view layer,
                           const Activations *forward_rows = nullptr) const override;
  quant::QuantResult rtn(const Compute &compute, const float *w, std::int64_t rows, std::int64_t cols,
                         const quant::QuantOptions &options, std::string_view layer) const override;
  double loss(const Compute &compute, const float *w, const float *w_hat, const LayerHessian &h,
              std::int64_t rows, std::int64_t cols) const override;
};

}  // namespace gptq
