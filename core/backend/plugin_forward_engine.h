// The forward engine of a backend plugin (backend_plugin.h's forward group;
// today the CUDA runtime): the core reads the checkpoint with its own loaders
// (core/model/block_weights.h: config, float tensors, GPTQ linears through
// the one reader of quantized linears, unpacked) and hands the plugin the
// spec and then each tensor by role, one block at a time, so the plugin never
// parses a file. Whole-model runs (perplexity, generation) go to the plugin:
// the core checks the ids and positions, computes the RoPE frequencies of
// each call (core/model/rope.h, the one place rope types are known) and gets
// fp32 logits back on the host.
//
// The block-by-block entries of the calibration pipeline (embed, run_block)
// have no plugin entries yet (the CUDA quantizer, issue 16): they run on the
// CPU engine, said once per engine in the context's log.
#pragma once

#include <mutex>

#include "core/backend/backend_plugin.h"
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
  std::shared_ptr<const PreparedModel> prepare(const model::ModelSpec &spec,
                                               const io::ShardedCheckpoint &checkpoint) const override;
  std::unique_ptr<SequenceCache> make_cache(const PreparedModel &model, std::int64_t batch,
                                            std::int64_t capacity) const override;
  Matrix run(const Compute &compute, const PreparedModel &model, std::span<const std::int32_t> ids,
             std::int64_t batch, std::int64_t seq, SequenceCache *cache, bool last_only) const override;

  // On the CPU engine (see above).
  std::unique_ptr<Activations> embed(const Compute &compute, const model::ModelSpec &spec,
                                     const model::GlobalWeights &globals, std::span<const std::int32_t> ids,
                                     std::int64_t batch, std::int64_t seq) const override;
  std::unique_ptr<Activations> copy(const Activations &a) const override;
  void run_block(const Compute &compute, const model::ModelSpec &spec, const model::BlockWeights &w,
                 Activations &hidden, std::int64_t batch, std::int64_t seq,
                 const ActivationsObserver &observe) const override;

 private:
  void log_block_fallback() const;

  const gptq_backend_plugin *table_;
  void *state_;
  Logger *log_;
  CpuForwardEngine cpu_;
  mutable std::once_flag block_fallback_logged_;
};

}  // namespace gptq
