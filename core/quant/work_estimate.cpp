#include "core/quant/work_estimate.h"

namespace gptq::quant {
namespace {

using U = std::uint64_t;
U u(std::int64_t v) { return v > 0 ? static_cast<U>(v) : 0; }

// Weights against a float GEMM multiply-add (see the header).
constexpr double kFloat64 = 2.0;       // a float64 multiply-add in potrf/trtri/dsyrk
constexpr double kColumnLoop = 3.0;    // a multiply-add of the solve's in-block column updates
constexpr double kPerWeight = 24.0;    // per weight: transposes, grid, codes, dequantized output
constexpr double kElementwise = 12.0;  // per element of an elementwise pass (exp, norms, RoPE)

U scaled(double v) { return static_cast<U>(v); }

}  // namespace

SolveWork solve_work(std::int64_t k, std::int64_t n) {
  const double kd = static_cast<double>(k), nd = static_cast<double>(n);
  SolveWork w;
  // potrf and trtri: k^3 / 3 multiply-adds each, in float64; plus the float
  // passes over H (copy, act-order permutation, the conversions).
  w.factor = scaled(kFloat64 * 2.0 * kd * kd * kd / 3.0 + kPerWeight * kd * kd);
  // Lazy updates: k^2 n / 2 multiply-adds; the in-block column loop: block * k n / 2
  // with 128-column blocks; the per-weight passes.
  w.blocks = scaled(kd * kd * nd / 2.0 + kColumnLoop * 64.0 * kd * nd + kPerWeight * kd * nd);
  return w;
}

U hessian_work(std::int64_t k, std::int64_t tokens, bool fp64) {
  const double syrk = static_cast<double>(k) * static_cast<double>(k) * static_cast<double>(tokens) / 2.0;
  return fp64 ? scaled(kFloat64 * syrk + kElementwise * static_cast<double>(k) * static_cast<double>(tokens))
              : scaled(syrk);
}

U rtn_work(std::int64_t k, std::int64_t n) { return scaled(kPerWeight * static_cast<double>(k) * static_cast<double>(n)); }

U layer_loss_work(std::int64_t k, std::int64_t n) { return u(k) * u(k) * u(n); }

U linear_work(std::int64_t rows, std::int64_t in, std::int64_t out) { return u(rows) * u(in) * u(out); }

U attention_work(std::int64_t batch, std::int64_t seq, std::int64_t heads, std::int64_t head_dim) {
  // Q K^T and P V over the full seq x seq square, and the softmax's exp.
  const U per_head = u(seq) * u(seq) * (2 * u(head_dim)) + scaled(kElementwise * static_cast<double>(u(seq) * u(seq)));
  return u(batch) * u(heads) * per_head;
}

U block_elementwise_work(std::int64_t rows, std::int64_t hidden, std::int64_t intermediate) {
  // Two norms and two residual adds over the hidden width, RoPE on q and k,
  // the activation and gate product over the intermediate width.
  return scaled(kElementwise * static_cast<double>(rows) * static_cast<double>(6 * hidden + 2 * intermediate));
}

}  // namespace gptq::quant
