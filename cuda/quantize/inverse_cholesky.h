// The upper Cholesky factor U of the damped H^-1 on the device, with the CPU's
// method and retry policy (core/quant/inverse_cholesky.h): factor the
// reversed J (H + damp I) J = R^T R in float64 with cuSOLVER's potrf, invert
// R with trtri, U = J R^-T J rounded once to float; damping = damp_percent *
// mean(diag H), raised by damp_auto_increment while potrf or trtri fails (or
// U's diagonal leaves float's range), up to quant::kMaxDampPercent.
#pragma once

#include <cstdint>
#include <vector>

#include "core/backend/backend_plugin.h"
#include "cuda/quantize/quantize_device.h"

namespace gptq::cuda {

// Largest damping fraction tried (core/quant/quant_options.h's kMaxDampPercent).
constexpr float kMaxDampPercent = 1.0f;

// h: the k x k H (device, solve order); diag: its diagonal on the host, in
// the same order (the mean is summed in double in that order, as the CPU
// does). Writes U (device, row-major k x k) and returns the damp_percent used;
// throws PluginError(NUMERICAL) naming the size and the last damping tried.
double damped_inverse_upper_cholesky(const QuantizeDevice &device, const float *h, const std::vector<float> &diag,
                                     std::int64_t k, const gptq_plugin_quant_options &opt, float *u);

}  // namespace gptq::cuda
