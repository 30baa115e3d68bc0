// Calibration rows in chunks of whole windows. The pipeline
// (core/pipeline/quantize_model.cpp) keeps the hidden state of every
// calibration window, and everything a block run computes from it, on the
// forward engine's device at once; when that does not fit, it runs the
// windows through each block a chunk at a time, the other chunks waiting in
// host memory (core/pipeline/parked_hidden.h). Attention is per window and
// everything else per row, so a window computes the same in any chunk: the
// only change is the order in which a Hessian sums its rows.
//
// The plan is made once, before the first block, from the device's free
// memory and an estimate of what a block run takes (calibration_device_bytes).
// No chunking on an engine that computes in host memory (the CPU's: its
// memory is the process's, as it was) or when everything fits: that path is
// the one without chunks, unchanged. GPTQ_CALIBRATION_CHUNK_WINDOWS=N forces
// chunks of N windows on any engine (tests; a GPU shared with other work).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/backend/backend.h"
#include "core/backend/forward_engine.h"
#include "core/base/log.h"
#include "core/model/model_config.h"
#include "schema/gptq_generated.h"

namespace gptq::quant {

// `batch` windows split into chunks of `per_chunk` (the last may hold
// fewer); per_chunk == batch is one chunk: no chunking.
struct CalibrationChunks {
  std::int64_t batch = 0;
  std::int64_t per_chunk = 0;

  bool chunked() const { return per_chunk < batch; }
  std::int64_t count() const { return per_chunk > 0 ? (batch + per_chunk - 1) / per_chunk : 0; }
  // The first window of chunk c, and how many it holds.
  std::int64_t first(std::int64_t c) const { return c * per_chunk; }
  std::int64_t windows(std::int64_t c) const {
    const std::int64_t left = batch - first(c);
    return left < per_chunk ? left : per_chunk;
  }
};

// The environment variable that forces a chunk size.
inline constexpr const char *kChunkWindowsVariable = "GPTQ_CALIBRATION_CHUNK_WINDOWS";

// kChunkWindowsVariable's value: none when unset or empty; Error
// (InvalidArgument, naming the variable and the value) when it is not a whole
// number >= 1.
std::optional<std::int64_t> forced_chunk_windows();

// What a block run of the calibration forward holds on the device, in bytes
// (the CUDA engine's allocations, counted in calibration_chunks.cpp from
// where they are made).
struct CalibrationDeviceBytes {
  std::uint64_t per_window = 0;  // grows with the windows of the run
  std::uint64_t block = 0;       // the block's weights, Hessians, solve scratch: the same for any windows
  std::uint64_t margin = 0;      // left free: the driver's and libraries' own memory, fragmentation
  // The scratch each Hessian alive at once converts its input rows through:
  // row_bytes per token row, at most cap bytes.
  struct HessianScratch {
    std::uint64_t row_bytes = 0;
    std::uint64_t cap = 0;
  };
  std::vector<HessianScratch> hessian_scratch;
  std::int64_t seq = 0;

  // All of it for a run of `windows` windows.
  std::uint64_t total(std::int64_t windows) const;
};
CalibrationDeviceBytes calibration_device_bytes(const model::ModelSpec &spec, const schema::QuantizeConfigT &config,
                                                std::int64_t seq, std::uint64_t device_total);

// The windows of a chunk for `batch` windows with `free` device bytes:
// batch when all fit, else as many as fit (bytes.total), evened out over
// the chunks that makes (fewer bytes at the same count of chunks); at
// least 1.
std::int64_t chunk_windows_that_fit(const CalibrationDeviceBytes &bytes, std::uint64_t free, std::int64_t batch);

// The plan for `batch` windows of `seq` tokens run on `forward`, whose
// device is `device` (the context's backend; null, another backend than the
// forward engine's or one that computes in host memory: no chunking unless
// forced). Says the decision with its sizes in the log (info; a warning when
// not even one window fits). Throws what forced_chunk_windows throws.
CalibrationChunks plan_calibration_chunks(const model::ModelSpec &spec, const schema::QuantizeConfigT &config,
                                          std::int64_t batch, std::int64_t seq, const ForwardEngine &forward,
                                          const Backend *device, Logger &log);

}  // namespace gptq::quant
