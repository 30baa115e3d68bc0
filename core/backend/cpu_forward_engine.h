// The CPU forward engine: core/model's fp32 forward pass (model::Forward,
// block_forward, embed) on the host, unchanged — the same calls in the same
// order, so logits and activations are those of the CPU code, bit for bit.
// Activations are host matrices; a prepared model is a model::Forward (every
// weight as fp32); a SequenceCache is a model::KvCache.
#pragma once

#include "core/backend/forward_engine.h"

namespace gptq {

class CpuForwardEngine final : public ForwardEngine {
 public:
  std::string_view backend() const override { return "cpu"; }
  std::shared_ptr<const PreparedModel> prepare(const Compute &compute, const model::ModelSpec &spec,
                                               const io::ShardedCheckpoint &checkpoint) const override;
  std::unique_ptr<SequenceCache> make_cache(const PreparedModel &model, std::int64_t batch,
                                            std::int64_t capacity) const override;
  Matrix run(const Compute &compute, const PreparedModel &model, std::span<const std::int32_t> ids,
             std::int64_t batch, std::int64_t seq, SequenceCache *cache, bool last_only,
             std::span<const std::int64_t> counts = {}) const override;
  std::unique_ptr<Activations> embed(const Compute &compute, const model::ModelSpec &spec,
                                     const model::GlobalWeights &globals, std::span<const std::int32_t> ids,
                                     std::int64_t batch, std::int64_t seq) const override;
  std::unique_ptr<Activations> copy(const Activations &a) const override;
  void run_block(const Compute &compute, const model::ModelSpec &spec, const model::BlockWeights &w,
                 Activations &hidden, std::int64_t batch, std::int64_t seq,
                 const ActivationsObserver &observe) const override;
};

}  // namespace gptq
