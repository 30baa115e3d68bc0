// The forward engine of a backend plugin (backend_plugin.h's forward group;
// today the CUDA runtime): the core reads the checkpoint with its own loaders
// (core/model/block_weights.h: config, float tensors, GPTQ linears through
// the one reader of quantized linears, unpacked) and hands the plugin the
// spec and then each tensor by role, so the plugin never parses a file: each
// tensor is a task on the call's threads, read and handed over by the same
// thread, so the plugin's repack and upload of one overlap the reading of
// others (an info line in the log says where the time went). Whole-model runs (perplexity, generation) go to the plugin:
// the core checks the ids and positions, computes the RoPE frequencies of
// each call (core/model/rope.h, the one place rope types are known) and gets
// fp32 logits back on the host, or, in generation, each sequence's next
// token chosen on the device (run_and_sample, the plugin's model_run_sample).
//
// The block-by-block entries of the calibration pipeline run on the plugin
// when it has the block group (backend_plugin.h v4): embed is the CPU's (a
// lookup) uploaded once into a plugin buffer, and the hidden state stays
// there (plugin_activations.h); run_block hands the plugin the block's norms,
// and in the observer trampoline shows the pipeline each linear's input
// (one Activations per plugin buffer, so shared inputs stay shared) and then
// uploads the linear's weight as it is then — true-sequential's quantized
// weights are what runs (without an observer, every weight goes up before
// the run). A weight the plugin holds already (a solve's dequantized result
// left in a buffer of the same state, PluginHeldMatrix) is set from there
// with block_set_dense_buffer (v5), never crossing the bus; one held
// elsewhere is read back first. copy() of rows that are not in this state's
// buffers (the host's: the pipeline's parked chunks) uploads them. Without the group they run on the CPU engine. Which
// one runs is said once per engine in the context's log.
#pragma once

#include <mutex>

#include "core/backend/backend_plugin.h"
#include "core/backend/plugin_activations.h"
#include "core/backend/cpu_forward_engine.h"
#include "core/backend/forward_engine.h"
#include "core/base/log.h"

namespace gptq {

class PluginForwardEngine final : public ForwardEngine {
 public:
  // Whether `table` fills every entry of the forward group.
  static bool supported(const gptq_backend_plugin &table);

  // `state` is the plugin's open device, `log` the context's; both outlive
  // the engine and every model and cache it makes.
  PluginForwardEngine(const gptq_backend_plugin &table, void *state, Logger &log);

  std::string_view backend() const override { return table_->name; }
  // Error(Unsupported) for an activation or position kind the plugin table
  // cannot express; the loaders' errors; the plugin's (out of memory with
  // the sizes).
  std::shared_ptr<const PreparedModel> prepare(const Compute &compute, const model::ModelSpec &spec,
                                               const io::ShardedCheckpoint &checkpoint) const override;
  std::unique_ptr<SequenceCache> make_cache(const PreparedModel &model, std::int64_t batch,
                                            std::int64_t capacity) const override;
  Matrix run(const Compute &compute, const PreparedModel &model, std::span<const std::int32_t> ids,
             std::int64_t batch, std::int64_t seq, SequenceCache *cache, bool last_only,
             std::span<const std::int64_t> counts = {}) const override;
  // On the device with the plugin's model_run_sample (v7) and a cache; else
  // ForwardEngine's, every row to the host.
  std::vector<std::int32_t> run_and_sample(const Compute &compute, const PreparedModel &model,
                                           std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t seq,
                                           SequenceCache *cache, std::span<const std::int64_t> counts,
                                           const SampleStep &step, Matrix &logits) const override;

  // On the plugin with its block group, else on the CPU engine (see above).
  std::unique_ptr<Activations> embed(const Compute &compute, const model::ModelSpec &spec,
                                     const model::GlobalWeights &globals, std::span<const std::int32_t> ids,
                                     std::int64_t batch, std::int64_t seq) const override;
  std::unique_ptr<Activations> copy(const Activations &a) const override;
  // With the plugin's host_pin (v8) and block group; a refusal is said once
  // in the log (info) and gives null.
  std::unique_ptr<PinnedHost> pin_host(void *data, std::size_t bytes) const override;
  void run_block(const Compute &compute, const model::ModelSpec &spec, const model::BlockWeights &w,
                 Activations &hidden, std::int64_t batch, std::int64_t seq,
                 const ActivationsObserver &observe) const override;

 private:
  // Whether `table` fills the block group (and the buffers it uses).
  static bool block_supported(const gptq_backend_plugin &table);
  void log_calibration_engine() const;
  void run_block_on_plugin(const Compute &compute, const model::ModelSpec &spec, const model::BlockWeights &w,
                           PluginActivations &hidden, std::int64_t batch, std::int64_t seq,
                           const ActivationsObserver &observe) const;

  const gptq_backend_plugin *table_;
  void *state_;
  Logger *log_;
  CpuForwardEngine cpu_;
  bool blocks_;  // block_supported(*table_)
  mutable std::once_flag calibration_logged_;
  mutable std::once_flag pin_refusal_logged_;
};

}  // namespace gptq
