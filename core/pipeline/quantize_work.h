// The "quantize" stage's progress units for a whole model, known before any
// work starts: the estimated work (core/quant/work_estimate.h) of every step
// the pipeline takes, in units of kWorkUnit multiply-adds (at least one for a
// step that does anything). The pipeline (core/pipeline/quantize_model.cpp)
// reports exactly these steps, so its progress runs from 0 to total() with
// total() fixed from the first callback, and done/total is proportional to
// the time spent rather than to the number of sublayers.
//
// Steps per block, true-sequential: for each sequential group, at its input,
// the group's Hessian and the solve of each member; then the forward pass of
// the group's linears (the first group's step also holds attention and the
// elementwise passes). Not true-sequential: the forward steps of the float
// block with the Hessians, then every solve, then the quantized block's
// forward (block_forward()). Skipped modules cost nothing. RTN: one step per
// sublayer.
//
// With the calibration rows in chunks (core/pipeline/calibration_chunks.h),
// a pass over the chunks takes, per chunk, that chunk's forward steps (the
// same group by group split, at its windows) and its share of the Hessians
// it feeds. True-sequential: a pass per group that has a Hessian, which
// runs the block up to the group's input (the forward steps of the groups
// before it), each followed by the group's solves; then a pass that keeps
// each chunk's output (block_forward(windows)). Not
// true-sequential: one pass for every group's Hessian, up to the last
// group's input, the solves, and the pass for the outputs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/model_config.h"
#include "schema/gptq_generated.h"

namespace gptq::quant {

constexpr std::uint64_t kWorkUnit = std::uint64_t{1} << 20;

class QuantizeWork {
 public:
  // batch windows of seq tokens (unused for RTN), in chunks of chunk_windows
  // (0 or >= batch: all at once). Keeps no reference to its arguments.
  QuantizeWork(const model::ModelSpec &spec, const schema::QuantizeConfigT &config, std::int64_t batch,
               std::int64_t seq, std::int64_t chunk_windows = 0);

  // Group g's forward step (the same in every block) for `windows` windows
  // (a chunk's), or for all of them.
  std::uint64_t forward(std::size_t g, std::int64_t windows) const;
  std::uint64_t forward(std::size_t g) const { return forward(g, batch_); }
  // The whole block's forward pass (the quantized pass when not
  // true-sequential; a chunk's pass when chunked).
  std::uint64_t block_forward(std::int64_t windows) const;
  std::uint64_t block_forward() const { return block_forward(batch_); }
  // Group g's Hessian in block `layer`, over `windows` windows (a chunk's
  // share) or all of them; 0 when every member is skipped.
  std::uint64_t hessian(std::int64_t layer, std::size_t g, std::int64_t windows) const;
  std::uint64_t hessian(std::int64_t layer, std::size_t g) const { return hessian(layer, g, batch_); }
  // Sublayer `name` of block `layer`: its solve (and the RTN comparison when
  // the config asks for it); 0 when skipped.
  std::uint64_t solve(std::int64_t layer, std::string_view name) const;
  // Round-to-nearest of sublayer `name`; 0 when skipped.
  std::uint64_t rtn(std::int64_t layer, std::string_view name) const;

  std::uint64_t total() const { return total_; }

 private:
  std::size_t index(std::string_view name) const;

  bool rtn_method_ = false, fp64_ = false;
  std::int64_t batch_ = 0, seq_ = 0;
  std::int64_t heads_ = 0, head_dim_ = 0, hidden_ = 0, intermediate_ = 0;
  std::vector<std::string> names_;                    // every sublayer, in group order
  std::vector<std::int64_t> in_, out_;                // per sublayer
  std::vector<std::vector<std::string>> groups_;      // sublayer names per group
  std::vector<std::vector<bool>> has_hessian_;        // [layer][group]
  std::vector<std::vector<std::uint64_t>> solve_;     // [layer][sublayer]
  std::vector<std::vector<std::uint64_t>> rtn_;       // [layer][sublayer]
  std::uint64_t total_ = 0;
};

}  // namespace gptq::quant
