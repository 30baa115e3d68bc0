#include "core/pipeline/calibration_chunks.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/base/error.h"
#include "core/model/architecture.h"
#include "core/model/linear_shapes.h"

namespace gptq::quant {
namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

std::string gib(std::uint64_t bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.2f GiB", static_cast<double>(bytes) / static_cast<double>(kMiB << 10));
  return s;
}

std::string mib(std::uint64_t bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f MiB", static_cast<double>(bytes) / static_cast<double>(kMiB));
  return s;
}

std::uint64_t u(std::int64_t v) { return static_cast<std::uint64_t>(v); }

// "W windows of S tokens".
std::string windows_of(std::int64_t batch, std::int64_t seq) {
  return std::to_string(batch) + " windows of " + std::to_string(seq) + " tokens";
}

}  // namespace

std::optional<std::int64_t> forced_chunk_windows() {
  const char *v = std::getenv(kChunkWindowsVariable);
  if (!v || !*v) return std::nullopt;
  char *end = nullptr;
  errno = 0;
  const long long n = std::strtoll(v, &end, 10);
  if (errno != 0 || *end != '\0' || n < 1)
    fail(Status::InvalidArgument, std::string(kChunkWindowsVariable) + "=" + v +
                                      ": expected a whole number of calibration windows >= 1");
  return static_cast<std::int64_t>(n);
}

CalibrationDeviceBytes calibration_device_bytes(const model::ModelSpec &spec, const schema::QuantizeConfigT &config,
                                                std::int64_t seq, std::uint64_t device_total) {
  const std::uint64_t hidden = u(spec.hidden_size), inter = u(spec.intermediate_size);
  const std::uint64_t qw = u(spec.num_heads * spec.head_dim), kvw = u(spec.num_kv_heads * spec.head_dim);
  CalibrationDeviceBytes b;
  // Per token row of a block run (cuda/runtime/block_runner.cpp's arena,
  // carve_run and carve_block in cuda/runtime/block_forward.cpp):
  const std::uint64_t row =
      // the hidden state, fp32 (the pipeline's PluginActivations); not
      // true-sequential, the float block runs on a copy of it
      // (quantize_model.cpp), so two
      (config.true_sequential ? 1 : 2) * 4 * hidden +
      // x (the normed input) and y (a branch's output, before the residual add), fp16
      2 * 2 * hidden +
      // q and the attention's output, fp16
      2 * 2 * qw +
      // k and v, and the run's own keys and values (no cache), fp16
      4 * 2 * kvw +
      // gate and up, fp16 (both carved for an ungated MLP too)
      2 * 2 * inter +
      // the observer's input widened to fp32, the widest of the block's:
      // what the Hessians read
      4 * std::max({hidden, qw, inter});
  b.per_window = row * u(seq);

  // Once per block run, whatever its windows:
  const std::vector<model::LinearShape> shapes = model::block_linear_shapes(spec);
  std::uint64_t sum_nk = 0, max_nk = 0, solve = 0;
  for (const auto &s : shapes) {
    const std::uint64_t nk = u(s.in) * u(s.out), kk = u(s.in) * u(s.in);
    sum_nk += nk;
    max_nk = std::max(max_nk, nk);
    // The solve (cuda/quantize/gptq_solve.cpp): the weights, transposed,
    // permuted and dequantized (fp32), the codes twice (bytes); its copy of
    // H, the permuted H and the inverse factor (fp32), the Cholesky's fp64
    // matrix (cuda/quantize/inverse_cholesky.cpp).
    solve = std::max(solve, 4 * 4 * nk + 2 * nk + 3 * 4 * kk + 8 * kk);
  }
  // Every linear's fp16 weight in the block runner (make_dense_linear), the
  // fp32 staging of the largest on its way to fp16 (BlockRunner::staging_),
  // and the solved weights held in fp32 for the forward (PluginHeldMatrix).
  const std::uint64_t weights = 2 * sum_nk + 4 * max_nk + 4 * sum_nk;
  // A Hessian (cuda/quantize/device_hessian.cpp): its sums (fp32 or fp64)
  // and the finished fp32 H; and the scratch its rows are converted through
  // (fp64, or the fp16 the block run's inputs are), as many rows as fit in
  // kScratchBytes (256 MiB). One at a time when true-sequential (made,
  // solved, dropped): the widest; every group's at once otherwise.
  std::uint64_t hessians = 0;
  for (const auto &group : spec.arch->sequential_groups) {
    std::uint64_t k = 0;
    for (const auto &s : shapes)
      if (s.name == group.front()) k = u(s.in);
    const std::uint64_t one = k * k * (config.hessian_fp64 ? 8 : 4) + k * k * 4;
    const CalibrationDeviceBytes::HessianScratch scratch{k * (config.hessian_fp64 ? 8 : 2), 256 * kMiB};
    if (!config.true_sequential) {
      hessians += one;
      b.hessian_scratch.push_back(scratch);
    } else if (one > hessians) {
      hessians = one;
      b.hessian_scratch.assign(1, scratch);
    }
  }
  b.seq = seq;
  // The attention's split-KV partials (cuda/runtime/flash_attention.cu's
  // flash_plan): keys are split only while the launch has fewer than 1024
  // blocks of 64 query rows, so at most about twice that many rows of
  // head_dim + 1 fp32 values, whatever the windows.
  const std::uint64_t attention = 2 * 1024 * 64 * (u(spec.head_dim) + 1) * 4;
  b.block = weights + hessians + solve + attention;
  // What the estimate does not see: the CUDA context's and cuBLAS's own
  // pools and lazily loaded kernels, allocator rounding and fragmentation.
  b.margin = std::max<std::uint64_t>(512 * kMiB, device_total / 20);
  return b;
}

std::uint64_t CalibrationDeviceBytes::total(std::int64_t windows) const {
  std::uint64_t sum = per_window * u(windows) + block + margin;
  for (const HessianScratch &h : hessian_scratch) sum += std::min(h.cap, h.row_bytes * u(windows * seq));
  return sum;
}

std::int64_t chunk_windows_that_fit(const CalibrationDeviceBytes &bytes, std::uint64_t free, std::int64_t batch) {
  if (bytes.total(batch) <= free) return batch;
  // total() grows with the windows: the most that fit, by bisection.
  std::int64_t lo = 1, hi = batch - 1;
  std::int64_t most = 1;
  while (lo <= hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (bytes.total(mid) <= free) {
      most = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  const std::int64_t chunks = (batch + most - 1) / most;
  return (batch + chunks - 1) / chunks;
}

CalibrationChunks plan_calibration_chunks(const model::ModelSpec &spec, const schema::QuantizeConfigT &config,
                                          std::int64_t batch, std::int64_t seq, const ForwardEngine &forward,
                                          const Backend *device, Logger &log) {
  CalibrationChunks plan{batch, batch};
  if (const auto forced = forced_chunk_windows()) {
    plan.per_chunk = std::min(*forced, batch);
    log.info("quantize: " + std::string(kChunkWindowsVariable) + "=" + std::to_string(*forced) + ": " +
             (plan.chunked() ? "calibration rows in " + std::to_string(plan.count()) + " chunks of " +
                                   std::to_string(plan.per_chunk) + " windows, parked in host memory between blocks"
                             : "all " + windows_of(batch, seq) + " at once"));
    return plan;
  }
  // Only a device of the forward engine's own: the CPU engine's rows are the
  // process's memory, as they always were.
  if (!device || device->name() != forward.backend()) return plan;
  const std::optional<DeviceMemory> memory = device->memory();
  if (!memory) return plan;
  const CalibrationDeviceBytes bytes = calibration_device_bytes(spec, config, seq, memory->total);
  plan.per_chunk = chunk_windows_that_fit(bytes, memory->free, batch);
  const std::string sizes = mib(bytes.per_window) + " a window + " + gib(bytes.block) +
                            " for a block's weights, Hessians and solve + " + gib(bytes.margin) +
                            " margin, with the Hessians' scratch; " +
                            gib(memory->free) + " of " + gib(memory->total) + " free";
  const std::string all = gib(bytes.total(batch));
  if (!plan.chunked()) {
    log.info("quantize: calibration rows on the device at once: " + windows_of(batch, seq) + " need about " + all +
             " (" + sizes + ")");
    return plan;
  }
  const std::string line = "quantize: calibration rows in " + std::to_string(plan.count()) + " chunks of " +
                           std::to_string(plan.per_chunk) + " windows, parked in host memory between blocks (" +
                           gib(u(batch) * u(seq) * u(spec.hidden_size) * 4) + "): " + windows_of(batch, seq) +
                           " at once would need about " + all + " (" + sizes + ")";
  if (bytes.total(1) > memory->free)
    log.warn(line + "; not even one window fits the estimate, the run may run out of device memory");
  else
    log.info(line);
  return plan;
}

}  // namespace gptq::quant
