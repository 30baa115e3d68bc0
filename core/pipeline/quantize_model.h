// The layer-by-layer GPTQ pipeline of the paper, on a whole Hugging Face
// model: calibration windows → block 0's input; for each block, each group of
// linear sublayers in true-sequential order gets the Hessian of its input as
// the block computes it with the groups before it already quantized, is
// quantized, and its dequantized weights go back in place; the quantized
// block's output is the next block's input. The reference reruns the block
// for every group; since a group's input does not depend on the groups after
// it, one run that quantizes each group as its input arrives computes the
// same inputs (core/pipeline/quantize_model.cpp). Quantized layers stream into a
// GptqCheckpointWriter (one block in memory: its fp32 weights plus the
// calibration activations). When the calibration rows do not fit on the
// forward engine's device (or GPTQ_CALIBRATION_CHUNK_WINDOWS says so), they
// run in chunks of whole windows, parked in host memory between blocks, and
// the block runs once per group as the reference does
// (core/pipeline/calibration_chunks.h).
#pragma once

#include <filesystem>
#include <functional>

#include "core/backend/backend.h"
#include "core/backend/forward_engine.h"
#include "core/backend/quantize_engine.h"
#include "core/cpu/thread_pool.h"
#include "core/base/log.h"
#include "core/base/progress.h"
#include "schema/gptq_generated.h"

namespace gptq::model {
class Model;
}

namespace gptq::quant {

struct QuantizeModelOptions {
  // Replace an existing output directory (only once the new one is complete).
  bool overwrite = false;
  // Also quantize each layer with RTN on the same inputs and report its loss.
  bool compare_rtn = false;
  // The backend whose device memory the report's peak_device_bytes gives
  // (its peak restarts at the run's start); null or a backend that does not
  // count (the CPU): 0. Its free memory also decides whether the
  // calibration rows run in chunks, when it is the forward engine's.
  const Backend *device = nullptr;
  // The threads that read (map and widen) the next block while one is
  // quantized; 0: 2 to 4 when the solves run off the CPU (a quarter of its
  // threads), else 1.
  int read_threads = 0;
};

// Quantizes `source` (a float model) as `config` says and writes the GPTQ
// checkpoint to out_dir, atomically: the Hessians, solves and RTN on
// `quantizer`, the calibration forward passes on `forward`, CPU work on
// `pool`; the report names quantizer's backend. Before any work (GPTQ
// and RTN alike), the source's files pass core/model/checkpoint_preflight.h.
// Progress: stage "quantize", units of estimated work
// (core/pipeline/quantize_work.h: the forward passes, Hessians and solves, each
// by its cost) with the total fixed from the first call, then "write
// checkpoint" in bytes. The callback is called on this thread only, at least
// every ProgressMeter::kInterval while the work runs, so a cancel is noticed
// within a fraction of a second wherever the work is, and leaves nothing on
// disk. Returns the report (every layer's loss, damping and seconds; totals;
// peak RSS, peak device memory). Throws on any failure, naming the layer.
schema::QuantizeReportT quantize_model(const model::Model &source,
                                       const schema::QuantizeConfigT &config,
                                       const std::filesystem::path &out_dir,
                                       const QuantizeModelOptions &options, ThreadPool &pool,
                                       const QuantizeEngine &quantizer, const ForwardEngine &forward,
                                       const Progress &progress, Logger &log);

}  // namespace gptq::quant
