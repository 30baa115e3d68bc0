// Token choice on the device (issue 15): each sequence's next token chosen
// from its row of logits where the head wrote them, by exactly the host
// sampler's algorithm (core/eval/sampler.h: repetition penalty, greedy argmax
// at temperature <= 0, else temperature, top-k with the k-th's ties, top-p
// over the probabilities in descending order with ties by ascending id, and
// the draw in id order), with the uniform number each sequence's own seeded
// generator drew on the host. One int32 per sequence comes back instead of a
// row of vocabulary floats.
//
// Where the device's sums may differ from the host's: the softmax terms use
// the device's exp (within an ulp of the host's) and every sum is a tree
// sum, not the host's loop in id order; so a draw within rounding of a
// cumulative boundary, or a nucleus whose mass lands within rounding of
// top_p, may go the other way. Everything else (penalty, temperature, the
// k-th largest, the order of the nucleus) is the host's bit for bit.
//
// A row the device does not take comes back to the host with its logits
// (GPTQ_PLUGIN_TOKEN_ON_HOST), and the host sampler chooses with the same
// number: a NaN among the processed logits (the host's result then rests on
// its comparisons' order), a nucleus of more than kSampleCandidates tokens
// (the candidates are sorted in shared memory), or a nucleus whose cut
// rounding put outside the candidates.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/backend/backend_plugin.h"
#include "cuda/device_memory.h"

namespace gptq::cuda {

// The most tokens a nucleus (top-p) may hold on the device: they are sorted
// in shared memory (12 bytes each).
inline constexpr int kSampleCandidates = 4096;

// The host sampler's options (gptq_plugin_sampling's).
struct SampleOptions {
  double temperature = 1.0;
  std::int64_t top_k = 0;
  double top_p = 1.0;
  double repetition_penalty = 1.0;
};

// One launch's device arrays: logits [batch][vocab] (read only), scratch
// [batch][vocab] fp32 and weights [batch][vocab] fp64 (the row processed and
// its softmax terms), active/uniforms/tokens [batch], seen ids and offsets
// [batch + 1] (null without a penalty).
struct SampleArgs {
  const float *logits = nullptr;
  float *scratch = nullptr;
  double *weights = nullptr;
  const std::uint8_t *active = nullptr;
  const double *uniforms = nullptr;
  const std::int32_t *seen_ids = nullptr;
  const std::int64_t *seen_offsets = nullptr;
  std::int32_t *tokens = nullptr;
  std::int64_t batch = 0, vocab = 0;
  SampleOptions options;
};

// Enqueues the choice of every row (a block each) on `stream`, launched
// chained when `chain` (cuda/kernels/chained_launch.h: right after a kernel
// of the forward pass; not after a graph launch or a copy).
void sample_rows(const SampleArgs &args, bool chain, cudaStream_t stream);

// The device arrays of a batch's choices, made once (per KV cache) and
// reused from step to step; the seen ids' buffer grows as the sequences see
// more tokens.
class DeviceSampler {
 public:
  DeviceSampler(std::int64_t batch, std::int64_t vocab);

  // Copies a step's inputs (a small copy each, as the run's ids) on
  // `stream`; refuses (InvalidArgument) a step that does not fit.
  void upload(const gptq_plugin_sampling &step, cudaStream_t stream);
  // upload() without the active flags and uniforms: the options and the
  // seen tokens only, for a captured decode step that copies the flags and
  // uniforms with its other inputs (args() then names where they are).
  void prepare(const gptq_plugin_sampling &step, cudaStream_t stream);
  // The launch of the choice of every row of `logits` with the step
  // prepared last, on this sampler's arrays.
  SampleArgs args(const float *logits) const;
  // The choice of every row of `logits` ([batch][vocab] on the device) with
  // the step uploaded last.
  void enqueue(const float *logits, bool chain, cudaStream_t stream);
  // Waits for the choice; writes each row's token to `tokens` (host,
  // [batch]) and, for each row left to the host, the row of `logits` to
  // host_logits[b * vocab].
  void fetch(const float *logits, std::int32_t *tokens, float *host_logits, cudaStream_t stream) const;
  // The rows of `tokens` (host, the choice already back) left to the host:
  // their rows of `logits` to host_logits[b * vocab], waited for.
  void fetch_rows_left_to_host(const float *logits, const std::int32_t *tokens, float *host_logits,
                               cudaStream_t stream) const;

  std::int64_t batch() const { return batch_; }
  std::int64_t vocab() const { return vocab_; }

 private:
  std::int64_t batch_, vocab_;
  SampleOptions options_;
  bool penalty_ = false;
  DeviceArray<float> scratch_;
  DeviceArray<double> weights_;
  DeviceArray<std::uint8_t> active_;
  DeviceArray<double> uniforms_;
  DeviceArray<std::int64_t> offsets_;
  DeviceArray<std::int32_t> seen_;
  DeviceArray<std::int32_t> tokens_;
};

}  // namespace gptq::cuda
