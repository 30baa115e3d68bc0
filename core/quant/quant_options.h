// Options of the GPTQ solver and the RTN baseline, as plain data.
//
// Defaults equal schema/gptq.fbs's QuantizeConfig, their one definition (checked
// by options_from_config_test);
// the solver deliberately does not include the flatbuffers schema so it can be
// used and tested alone. The JSON -> schema -> QuantOptions glue lives elsewhere.
#pragma once

namespace gptq::quant {

// MSE clipping search: try shrinking the [min, max] range in `grid` steps down to
// (1 - max_shrink) of it and keep, per row, the range with the least
// sum |w - q(w)|^norm (the GPTQ reference's Quantizer with mse=True).
struct MseOptions {
  bool enabled = false;
  float norm = 2.4f;
  int grid = 100;
  float max_shrink = 0.8f;
};

struct QuantOptions {
  int bits = 4;                 // 2, 3, 4 or 8
  int group_size = 128;         // columns per group; -1: one group per row
  bool sym = true;              // zero point fixed at 2^(bits-1)
  bool desc_act = false;        // act-order: columns by descending diag(H)
  bool static_groups = false;   // fit groups on the unpermuted W before the solve
  float damp_percent = 0.05f;   // damping as a fraction of mean(diag(H))
  float damp_auto_increment = 0.01f;  // raise damping by this on Cholesky failure
  int block_size = 128;         // columns per lazy-update block
  MseOptions mse;
  bool hessian_fp64 = false;    // accumulate H in float64
  // Asymmetric grids keep their zero point >= 1: a group whose zero would
  // round to 0 gets zero 1 and the scale that keeps its largest value on the
  // grid. Set for checkpoint format v1, where the peers read a stored zero of
  // 0 three different ways (core/gptq_format/gptq_packing.h).
  bool positive_zero = false;
};

// Largest damping fraction tried by the retry loop (GPTQModel stops below 1).
inline constexpr float kMaxDampPercent = 1.0f;

}  // namespace gptq::quant
