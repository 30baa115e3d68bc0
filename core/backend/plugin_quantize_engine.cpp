#include "core/backend/plugin_quantize_engine.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/backend/backend_loader.h"
#include "core/backend/plugin_activations.h"
#include "core/backend/plugin_status.h"
#include "core/base/error.h"
#include "core/quant/finite_scan.h"
#include "core/quant/layer_loss.h"
#include "core/quant/quantize_matrix.h"

namespace gptq {
namespace {

class PluginHessian final : public LayerHessian {
 public:
  PluginHessian(const gptq_backend_plugin &table, void *state, gptq_plugin_hessian *handle, std::int64_t columns)
      : table_(&table), state_(state), handle_(handle), columns_(columns) {}
  ~PluginHessian() override { table_->hessian_free(state_, handle_); }
  PluginHessian(const PluginHessian &) = delete;
  PluginHessian &operator=(const PluginHessian &) = delete;
  std::int64_t columns() const override { return columns_; }
  gptq_plugin_hessian *handle() const { return handle_; }

 private:
  const gptq_backend_plugin *table_;
  void *state_;
  gptq_plugin_hessian *handle_;
  std::int64_t columns_;
};

const PluginHessian &plugin(const LayerHessian &h) {
  const auto *p = dynamic_cast<const PluginHessian *>(&h);
  if (!p) fail(Status::Internal, "plugin quantize engine: a Hessian made by another engine");
  return *p;
}

}  // namespace

bool PluginQuantizeEngine::supported(const gptq_backend_plugin &t) {
  return t.buffer_alloc && t.buffer_free && t.buffer_write && t.buffer_read && t.hessian_create && t.hessian_free &&
         t.hessian_accumulate && t.hessian_finish && t.quantize_solve && t.hessian_write && t.hessian_read;
}

PluginQuantizeEngine::PluginQuantizeEngine(const gptq_backend_plugin &table, void *state)
    : table_(&table), state_(state) {
  const char *on_device = std::getenv("GPTQ_DEQUANT_ON_DEVICE");
  hold_ = !(on_device && std::strcmp(on_device, "0") == 0);
}

std::unique_ptr<LayerHessian> PluginQuantizeEngine::new_hessian(std::int64_t columns, bool fp64) const {
  char err[512] = {0};
  gptq_plugin_hessian *handle = nullptr;
  check_plugin(table_->hessian_create(state_, columns, fp64 ? 1 : 0, &handle, err, sizeof err), table_->name,
               "creating a " + std::to_string(columns) + "x" + std::to_string(columns) + " Hessian", err);
  return std::make_unique<PluginHessian>(*table_, state_, handle, columns);
}

void PluginQuantizeEngine::accumulate(const Compute &compute, LayerHessian &h, const Activations &input,
                                      std::int64_t samples) const {
  const PluginHessian &p = plugin(h);
  if (input.cols() != p.columns())
    fail(Status::InvalidArgument, "plugin quantize engine: activations of " + std::to_string(input.cols()) +
                                      " columns for a Hessian of " + std::to_string(p.columns()));
  char err[512] = {0};
  // Rows already in a buffer of this state (the plugin's calibration
  // forward) are used where they are; others go up first.
  const auto *on_device = dynamic_cast<const PluginActivations *>(&input);
  const gptq_plugin_buffer *handle = on_device ? on_device->handle_in(*table_, state_) : nullptr;
  std::unique_ptr<PluginActivations> uploaded;
  if (!handle) {
    Matrix scratch;
    const Matrix &x = input.host(scratch);
    uploaded = std::make_unique<PluginActivations>(*table_, state_, x.rows, x.cols, &x);
    handle = uploaded->handle();
  }
  const PluginCallScope scope(compute);
  check_plugin(table_->hessian_accumulate(state_, p.handle(), handle, input.rows(), samples, err, sizeof err),
               table_->name, "accumulating the Hessian", err);
  compute.progress(1.0);
}

void PluginQuantizeEngine::finish(const Compute &compute, LayerHessian &h) const {
  char err[512] = {0};
  check_plugin(table_->hessian_finish(state_, plugin(h).handle(), err, sizeof err), table_->name,
               "finishing the Hessian", err);
  compute.progress(1.0);
}

std::unique_ptr<LayerHessian> PluginQuantizeEngine::load_hessian(const Compute &compute, const float *h,
                                                                 std::int64_t columns) const {
  if (h == nullptr) fail(Status::InvalidArgument, "hessian is null");
  const auto kk = static_cast<std::size_t>(columns) * static_cast<std::size_t>(columns);
  if (const auto bad = quant::first_non_finite(compute, h, kk))
    fail(Status::InvalidArgument, "hessian[" + std::to_string(*bad / static_cast<std::size_t>(columns)) + "][" +
                                      std::to_string(*bad % static_cast<std::size_t>(columns)) +
                                      "] is not finite");
  auto made = new_hessian(columns, false);
  char err[512] = {0};
  check_plugin(table_->hessian_write(state_, plugin(*made).handle(), h, err, sizeof err), table_->name,
               "uploading the Hessian", err);
  return made;
}

quant::QuantResult PluginQuantizeEngine::solve(const Compute &compute, const float *w, std::int64_t rows,
                                               std::int64_t cols, const LayerHessian &h,
                                               const quant::QuantOptions &opt, std::string_view layer,
                                               const Activations *forward_rows) const {
  // The CPU solver's checks, on the host, before anything is uploaded.
  if (rows <= 0 || cols <= 0)
    fail(Status::InvalidArgument, "layer '" + std::string(layer) + "': rows and cols must be > 0, got " +
                                      std::to_string(rows) + " x " + std::to_string(cols));
  quant::validate_options(opt, cols, layer);
  if (w == nullptr) fail(Status::InvalidArgument, "layer '" + std::string(layer) + "': weight is null");
  const auto n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  if (const auto bad = quant::first_non_finite(compute, w, n))
    fail(Status::InvalidArgument, "layer '" + std::string(layer) + "': weight[" + std::to_string(*bad / cols) + "][" +
                                      std::to_string(*bad % cols) + "] is not finite");
  const PluginHessian &p = plugin(h);
  if (p.columns() != cols)
    fail(Status::InvalidArgument, "layer '" + std::string(layer) + "': a Hessian of " + std::to_string(p.columns()) +
                                      " columns for weights of " + std::to_string(cols));

  quant::QuantResult r;
  r.rows = rows;
  r.cols = cols;
  r.bits = opt.bits;
  r.groups = opt.group_size > 0 ? cols / opt.group_size : 1;
  const auto gn = static_cast<std::size_t>(r.groups) * static_cast<std::size_t>(rows);
  // The forward that runs the result computes on this state: the
  // dequantized weights stay there for it.
  const auto *rows_here = dynamic_cast<const PluginActivations *>(forward_rows);
  if (hold_ && rows_here && rows_here->handle_in(*table_, state_))
    r.held_dequant = std::make_shared<PluginHeldMatrix>(*table_, state_, rows, cols,
                                                        "the dequantized weights of " + std::string(layer));
  const auto *held = static_cast<const PluginHeldMatrix *>(r.held_dequant.get());
  r.codes.resize(n);
  if (!held) r.dequant.resize(n);
  r.scales.resize(gn);
  r.zeros.resize(gn);
  r.g_idx.resize(static_cast<std::size_t>(cols));
  if (opt.desc_act) r.perm.resize(static_cast<std::size_t>(cols));

  gptq_plugin_quant_options o{};
  o.bits = opt.bits;
  o.group_size = opt.group_size;
  o.sym = opt.sym ? 1 : 0;
  o.desc_act = opt.desc_act ? 1 : 0;
  o.static_groups = opt.static_groups ? 1 : 0;
  o.positive_zero = opt.positive_zero ? 1 : 0;
  o.damp_percent = opt.damp_percent;
  o.damp_auto_increment = opt.damp_auto_increment;
  o.block_size = opt.block_size;
  o.mse = opt.mse.enabled ? 1 : 0;
  o.mse_norm = opt.mse.norm;
  o.mse_grid = opt.mse.grid;
  o.mse_max_shrink = opt.mse.max_shrink;
  gptq_plugin_quant_result out{r.codes.data(),
                               r.scales.data(),
                               r.zeros.data(),
                               r.g_idx.data(),
                               opt.desc_act ? r.perm.data() : nullptr,
                               held ? nullptr : r.dequant.data(),
                               0.0,
                               0.0,
                               held ? held->handle() : nullptr,
                               0.0};
  char err[512] = {0};
  int rc = GPTQ_PLUGIN_OK;
  {
    const PluginCallScope scope(compute);
    rc = table_->quantize_solve(state_, p.handle(), w, rows, cols, &o, &out, err, sizeof err);
  }
  if (rc == GPTQ_PLUGIN_ERR_CANCELLED) compute.poll();  // the call's own Cancelled error
  check_plugin(rc, table_->name, "layer '" + std::string(layer) + "'", err);
  r.loss = out.loss;
  r.damp_percent = out.damp_percent;
  r.factor_seconds = out.factor_seconds;
  compute.progress(1.0);
  return r;
}

quant::QuantResult PluginQuantizeEngine::rtn(const Compute &compute, const float *w, std::int64_t rows,
                                             std::int64_t cols, const quant::QuantOptions &options,
                                             std::string_view layer) const {
  return cpu_.rtn(compute, w, rows, cols, options, layer);
}

double PluginQuantizeEngine::loss(const Compute &compute, const float *w, const float *w_hat, const LayerHessian &h,
                                  std::int64_t rows, std::int64_t cols) const {
  const PluginHessian &p = plugin(h);
  std::vector<float> host(static_cast<std::size_t>(p.columns()) * static_cast<std::size_t>(p.columns()));
  char err[512] = {0};
  check_plugin(table_->hessian_read(state_, p.handle(), host.data(), err, sizeof err), table_->name,
               "reading the Hessian back", err);
  return quant::layer_loss(compute, w, w_hat, host.data(), rows, cols);
}

}  // namespace gptq
