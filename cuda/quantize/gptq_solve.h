// The GPTQ solve on the device: core/quant/gptq_solver.cpp's algorithm
// (dead inputs, static groups, act-order, damped inverse Cholesky, blocks of
// columns with the lazy update), each block one kernel over all rows
// (solve_kernels.h) and one cuBLAS sgemm for the columns after it.
#pragma once

#include <cstdint>

#include "core/backend/backend_plugin.h"
#include "cuda/quantize/device_hessian.h"
#include "cuda/quantize/quantize_device.h"

namespace gptq::cuda {

// Seconds of each phase, measured with the device synchronized at their
// ends (the benchmark's breakdown).
struct SolveTimes {
  double prepare = 0;  // upload, transpose, grids, dead inputs, act-order
  double factor = 0;   // damping, potrf, trtri (retries included)
  double blocks = 0;   // the block kernels and lazy updates
  double results = 0;  // assembly and the copies back
};

// w: host [rows][cols] fp32; h: finished, cols x cols. Writes every array of
// `out` (perm only with desc_act; dequant when not null) and its loss,
// damp_percent and factor_seconds; the dequantized weights also into
// dequant_device (device, fp32 [rows][cols]) when not null, one of the two
// being set. Options are checked (InvalidArgument naming the field); the
// core has already checked the weights are finite.
void gptq_solve(const QuantizeDevice &device, const DeviceHessian &h, const float *w, std::int64_t rows,
                std::int64_t cols, const gptq_plugin_quant_options &opt, gptq_plugin_quant_result &out,
                float *dequant_device, SolveTimes *times = nullptr);

}  // namespace gptq::cuda
