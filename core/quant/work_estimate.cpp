#include "core/quant/work_estimate.h"

namespace gptq::quant {
namespace {

using U = std::uint64_t;
U u(std::int64_t v) { return v > 0 ? static_cast<U>(v) : 0; }
U scaled(double v) { return v > 0 ? static_cast<U>(v) : 0; }

// Weights against a float GEMM multiply-add, fitted to one-thread timings of
// this code (AMD EPYC dev machine, OpenBLAS 0.3.21 Haswell kernels,
// 2026-11-30; sgemm and the Hessian's syrk ran at 0.03 ns a multiply-add):
// solves of K in 256..2048 and N in 256..4096 fit t = 1.03 K^3 + 0.56 K^2 N
// + 1680 K N units within 30%; a float64 syrk is half the float speed;
// per element, RMSNorm 150 units, RoPE 62, residual add 9, SiLU 55 and the
// gate product 10; round-to-nearest 270-550 per weight.
constexpr double kFactorPerK3 = 1.0;     // float64 potrf + trtri (k^3 / 3 each, at half speed)
constexpr double kLazyPerK2N = 0.5;      // the lazy updates' k^2 n / 2 multiply-adds
constexpr double kSolvePerWeight = 1700; // the in-block column loop, grids, codes, transposes
constexpr double kFloat64 = 2.0;
constexpr double kPerHidden = 400;       // per token and hidden channel: norms, RoPE, residual adds
constexpr double kPerIntermediate = 65;  // per token and MLP channel: activation and gate product
constexpr double kRtnPerWeight = 400;

}  // namespace

SolveWork solve_work(std::int64_t k, std::int64_t n) {
  const double kd = static_cast<double>(k), nd = static_cast<double>(n);
  return {scaled(kFactorPerK3 * kd * kd * kd), scaled(kLazyPerK2N * kd * kd * nd + kSolvePerWeight * kd * nd)};
}

U hessian_work(std::int64_t k, std::int64_t tokens, bool fp64) {
  const double syrk = static_cast<double>(k) * static_cast<double>(k) * static_cast<double>(tokens) / 2.0;
  return scaled(fp64 ? kFloat64 * syrk : syrk);
}

U rtn_work(std::int64_t k, std::int64_t n) { return scaled(kRtnPerWeight * static_cast<double>(k) * static_cast<double>(n)); }

U layer_loss_work(std::int64_t k, std::int64_t n) { return u(k) * u(k) * u(n); }

U linear_work(std::int64_t rows, std::int64_t in, std::int64_t out) { return u(rows) * u(in) * u(out); }

U attention_work(std::int64_t batch, std::int64_t seq, std::int64_t heads, std::int64_t head_dim) {
  // Q K^T and P V: each block of 128 query rows against the keys up to its
  // last row (half the square plus half the diagonal blocks), head_dim
  // multiply-adds per pair each; the softmax ~30 units a score.
  const double s = static_cast<double>(u(seq));
  const double pairs = s * s / 2.0 + 64.0 * s;
  return scaled(static_cast<double>(u(batch) * u(heads)) * pairs * (2.0 * static_cast<double>(head_dim) + 30.0));
}

U block_elementwise_work(std::int64_t rows, std::int64_t hidden, std::int64_t intermediate) {
  return scaled(static_cast<double>(rows) *
                (kPerHidden * static_cast<double>(hidden) + kPerIntermediate * static_cast<double>(intermediate)));
}

}  // namespace gptq::quant
