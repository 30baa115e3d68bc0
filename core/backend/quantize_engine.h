// QuantizeEngine: the quantization operations of a backend — what the
// layer-by-layer pipeline (core/quant/quantize_model.cpp) runs for each
// linear. The CPU engine (cpu_quantize_engine.h) is the reference; a GPU
// engine (issue 16) keeps the Hessian on its device from accumulation to
// solve, and only the results the checkpoint needs come back.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/backend/activations.h"
#include "core/cpu/compute.h"
#include "core/quant/quant_options.h"
#include "core/quant/quant_result.h"

namespace gptq {

// The Hessian H = 2/n * sum x^T x of one layer input, held by the engine that
// made it (GPU memory for a GPU engine). Accumulated by accumulate(), then
// finished once; only then may solve() and loss() use it.
class LayerHessian {
 public:
  virtual ~LayerHessian() = default;
  virtual std::int64_t columns() const = 0;
};

// Every operation takes the library call's Compute: its progress meter and
// cancellation (compute.progress / poll) for every engine, and the context's
// threads for the CPU engine. Errors are thrown as Error with the layer's
// name; Error(OutOfMemory) when the device runs out of memory.
class QuantizeEngine {
 public:
  virtual ~QuantizeEngine() = default;

  // The backend that computes ("cpu", "cuda"): what the report names.
  virtual std::string_view backend() const = 0;

  // An empty Hessian over `columns` inputs, accumulated in fp64 when asked
  // (QuantOptions::hessian_fp64).
  virtual std::unique_ptr<LayerHessian> new_hessian(std::int64_t columns, bool fp64) const = 0;
  // Adds the rows of `input` ([n, columns]) as `samples` calibration samples
  // (the n of 2/n; -1: one per row).
  virtual void accumulate(const Compute &compute, LayerHessian &h, const Activations &input,
                          std::int64_t samples) const = 0;
  // Ends accumulation (scaling by 2/n); called once.
  virtual void finish(const Compute &compute, LayerHessian &h) const = 0;
  // A finished Hessian holding `h` ([columns][columns] row-major, finite,
  // symmetric: a caller's H, as gptq_quantize_matrix takes it).
  virtual std::unique_ptr<LayerHessian> load_hessian(const Compute &compute, const float *h,
                                                     std::int64_t columns) const = 0;

  // The GPTQ solve of w ([rows, cols] fp32, host) with a finished Hessian:
  // codes, scales, zeros, g_idx, perm, loss, the seconds of the factoring
  // and the dequantized weights (which the pipeline puts back into the block
  // for the inputs of later layers). forward_rows: the activations of the
  // forward pass that will run those weights (the pipeline's hidden state),
  // or null; when they live on this engine's device, the dequantized weights
  // stay there too (QuantResult::held_dequant, `dequant` empty), else they
  // come to the host.
  virtual quant::QuantResult solve(const Compute &compute, const float *w, std::int64_t rows, std::int64_t cols,
                                   const LayerHessian &h, const quant::QuantOptions &options,
                                   std::string_view layer, const Activations *forward_rows = nullptr) const = 0;
  // Round-to-nearest of w on the same grid, columns in order (loss 0).
  virtual quant::QuantResult rtn(const Compute &compute, const float *w, std::int64_t rows, std::int64_t cols,
                                 const quant::QuantOptions &options, std::string_view layer) const = 0;
  // The layer loss tr((W - W_hat) H (W - W_hat)^T) / 2 of replacing w by w_hat.
  virtual double loss(const Compute &compute, const float *w, const float *w_hat, const LayerHessian &h,
                      std::int64_t rows, std::int64_t cols) const = 0;
};

}  // namespace gptq
