// The quantize engine of a backend plugin (today the CUDA one): the plugin's
// quantize group (backend_plugin.h: buffers, hessian_*, quantize_solve)
// behind QuantizeEngine. Activations go up into a plugin buffer, unless they
// are in one of the same state already (the plugin's calibration forward,
// plugin_activations.h), and the Hessian stays on the device from
// accumulation to solve; only W goes up and the results the checkpoint needs
// come back: when the calibration forward runs on the same state (the
// pipeline's hidden state is a buffer of it), the dequantized weights stay
// on the device as well, for the block runner (PluginHeldMatrix;
// GPTQ_DEQUANT_ON_DEVICE=0 in the environment brings them to the host as
// before plugin table v5, to check one path against the other). RTN runs on the CPU engine
// (it needs no Hessian and is memory-bound); so does the layer loss of the
// RTN comparison, with H read back from the device.
#pragma once

#include "core/backend/backend_plugin.h"
#include "core/backend/cpu_quantize_engine.h"
#include "core/backend/quantize_engine.h"

namespace gptq {

class PluginQuantizeEngine final : public QuantizeEngine {
 public:
  // Whether `table` sets every entry of the quantize group.
  static bool supported(const gptq_backend_plugin &table);

  // `state` is the plugin's open state; both outlive the engine.
  PluginQuantizeEngine(const gptq_backend_plugin &table, void *state);

  std::string_view backend() const override { return table_->name; }
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

 private:
  const gptq_backend_plugin *table_;
  void *state_;
  bool hold_;  // GPTQ_DEQUANT_ON_DEVICE is not "0"
  CpuQuantizeEngine cpu_;
};

}  // namespace gptq
