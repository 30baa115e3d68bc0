// The calibration hidden state in host memory between block runs, one
// matrix per chunk of windows (core/pipeline/calibration_chunks.h), for a
// pipeline whose rows do not all fit on the forward engine's device. A
// chunk goes up for a block run (the engine's copy(), which puts host rows
// where it computes) and its output comes back, into the same memory, when
// it is the next block's input. Each chunk's memory is page-locked by the
// engine when it can (ForwardEngine::pin_host): every block uploads the
// rows of all chunks several times, and pinned memory moves straight over
// the bus, where pageable memory goes through the CUDA plugin's staging
// copies (cuda/host_staging.h) up and the driver's down.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/backend/activations.h"
#include "core/backend/forward_engine.h"
#include "core/cpu/compute.h"
#include "core/model/block_weights.h"
#include "core/model/model_config.h"
#include "core/pipeline/calibration_chunks.h"
#include "core/tensor/matrix.h"

namespace gptq::quant {

class ParkedHidden {
 public:
  // Block 0's input: each chunk's windows of `ids` (sequence-major, seq
  // tokens each) embedded on `forward` and parked, one chunk at a time.
  ParkedHidden(const Compute &compute, const ForwardEngine &forward, const model::ModelSpec &spec,
               const model::GlobalWeights &globals, std::span<const std::int32_t> ids, const CalibrationChunks &chunks,
               std::int64_t seq);

  // Chunk c's rows where the engine computes, for one block run (which
  // replaces them with its output; the parked rows stay as they are).
  std::unique_ptr<Activations> upload(std::int64_t c) const;
  // Chunk c's rows become those of `rows` (a block run's output).
  void park(std::int64_t c, const Activations &rows);
  // Whether the engine page-locked every chunk.
  bool pinned() const;

 private:
  const ForwardEngine &forward_;
  std::vector<Matrix> chunks_;
  // After chunks_: unlocked before their memory goes.
  std::vector<std::unique_ptr<PinnedHost>> pinned_;
};

}  // namespace gptq::quant
