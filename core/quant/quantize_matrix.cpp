#include "core/quant/quantize_matrix.h"

#include <sstream>
#include <string>

#include "core/base/error.h"
#include "core/gptq_format/bit_widths.h"
#include "core/quant/finite_scan.h"
#include "core/quant/gptq_solver.h"
#include "core/quant/rtn.h"

namespace gptq::quant {
namespace {

[[noreturn]] void invalid(std::string_view layer, const std::string &what) {
  std::ostringstream msg;
  msg << "layer '" << layer << "': " << what;
  fail(Status::InvalidArgument, msg.str());
}

void check_shape(std::int64_t rows, std::int64_t cols, std::string_view layer) {
  if (rows <= 0) invalid(layer, "rows must be > 0, got " + std::to_string(rows));
  if (cols <= 0) invalid(layer, "cols must be > 0, got " + std::to_string(cols));
}

// First non-finite element of a rows x cols matrix, reported by position.
void check_finite(const Compute &compute, const float *m, std::int64_t rows, std::int64_t cols, const char *name,
                  std::string_view layer) {
  if (m == nullptr) invalid(layer, std::string(name) + " is null");
  const auto n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  if (const auto bad = first_non_finite(compute, m, n)) {
    const auto c = static_cast<std::size_t>(cols);
    std::ostringstream what;
    what << name << "[" << *bad / c << "][" << *bad % c << "] is " << m[*bad] << " (must be finite)";
    invalid(layer, what.str());
  }
}

}  // namespace

void validate_options(const QuantOptions &opt, std::int64_t cols, std::string_view layer) {
  if (!is_gptq_bit_width(opt.bits))
    invalid(layer, std::string("bits must be ") + kGptqBitWidthsText + ", got " + std::to_string(opt.bits));
  if (opt.group_size != -1 && opt.group_size <= 0)
    invalid(layer, "group_size must be -1 or > 0, got " + std::to_string(opt.group_size));
  if (opt.group_size > 0 && cols % opt.group_size != 0)
    invalid(layer, "cols (" + std::to_string(cols) + ") is not a multiple of group_size (" +
                       std::to_string(opt.group_size) + ")");
  if (opt.block_size < 1) invalid(layer, "block_size must be >= 1, got " + std::to_string(opt.block_size));
  if (!(opt.damp_percent >= 0.0f && opt.damp_percent <= kMaxDampPercent))
    invalid(layer, "damp_percent must be in [0, 1], got " + std::to_string(opt.damp_percent));
  if (!(opt.damp_auto_increment >= 0.0f && opt.damp_auto_increment <= 1.0f))
    invalid(layer, "damp_auto_increment must be in [0, 1], got " + std::to_string(opt.damp_auto_increment));
  if (opt.mse.enabled) {
    if (!(opt.mse.norm >= 1.0f && opt.mse.norm <= 10.0f))
      invalid(layer, "mse.norm must be in [1, 10], got " + std::to_string(opt.mse.norm));
    if (opt.mse.grid < 1 || opt.mse.grid > 10000)
      invalid(layer, "mse.grid must be in [1, 10000], got " + std::to_string(opt.mse.grid));
    if (!(opt.mse.max_shrink >= 0.0f && opt.mse.max_shrink <= 1.0f))
      invalid(layer, "mse.max_shrink must be in [0, 1], got " + std::to_string(opt.mse.max_shrink));
  }
}

QuantResult quantize_matrix(const Compute &compute, const float *w, std::int64_t rows, std::int64_t cols,
                            const float *hessian, const QuantOptions &opt, std::string_view layer) {
  check_shape(rows, cols, layer);
  validate_options(opt, cols, layer);
  check_finite(compute, w, rows, cols, "weight", layer);
  check_finite(compute, hessian, cols, cols, "hessian", layer);
  return gptq_solve(compute, w, rows, cols, hessian, opt, layer);
}

QuantResult rtn_matrix(const Compute &compute, const float *w, std::int64_t rows, std::int64_t cols,
                       const QuantOptions &opt, std::string_view layer) {
  check_shape(rows, cols, layer);
  validate_options(opt, cols, layer);
  check_finite(compute, w, rows, cols, "weight", layer);
  return rtn_quantize(compute, w, rows, cols, opt);
}

}  // namespace gptq::quant
