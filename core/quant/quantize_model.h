// The layer-by-layer GPTQ pipeline of the paper, on a whole Hugging Face
// model: calibration windows → block 0's input; for each block, for each
// group of linear sublayers in true-sequential order, collect the group's
// input Hessians by running the block (with the already-quantized sublayers
// in place), quantize each linear, put its dequantized weight back; then run
// the quantized block once more to make the next block's input. Quantized
// layers stream into a GptqCheckpointWriter (one block in memory: its fp32
// weights plus the calibration activations).
#pragma once

#include <filesystem>
#include <functional>

#include "core/log.h"
#include "core/progress.h"
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
  // CPU threads for the solver (0: one per core).
  int threads = 0;
};

// Quantizes `source` (a float model) as `config` says and writes the GPTQ
// checkpoint to out_dir, atomically. Progress: stage "quantize", one unit per
// linear sublayer (done, total); a cancel stops within the sublayer being
// solved and leaves nothing on disk. Returns the report (every layer's loss,
// damping and seconds; totals; peak RSS). Throws on any failure, naming the
// layer.
schema::QuantizeReportT quantize_model(const model::Model &source,
                                       const schema::QuantizeConfigT &config,
                                       const std::filesystem::path &out_dir,
                                       const QuantizeModelOptions &options, const Progress &progress,
                                       Logger &log);

}  // namespace gptq::quant
