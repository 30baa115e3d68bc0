// One decoder block on the device, written once for both of its callers: the
// whole-model forward (device_model.h: a model's blocks over its KV cache)
// and the calibration runner (block_runner.h: one block at a time, the
// observer seeing each linear's input). Norm, attention (RoPE or none, GQA,
// sliding window), MLP (gated or plain), residuals, pre- or post-norm.
//
// Numerics as device_model.h: linear inputs and outputs, K/V and the
// attention output fp16; the residual stream, norms, RoPE angles and softmax
// fp32.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/backend/backend_plugin.h"
#include "cuda/device_linear.h"
#include "cuda/runtime/kernels.h"

namespace gptq::cuda {

// A run's activations (device pointers, carved by the caller).
struct RunBuffers {
  // past: the largest first-row position of any sequence, for the launches'
  // shape — for a decode step captured in a CUDA graph, the largest it will
  // be; the kernels read each sequence's position from past_at ([batch],
  // device memory).
  std::int64_t batch = 0, seq = 0, rows = 0, past = 0;
  const std::int64_t *past_at = nullptr;
  const float *inv_freq = nullptr;
  __half *k_cache = nullptr, *v_cache = nullptr;  // layer 0's; a layer is layer_elements further
  std::int64_t capacity = 0, layer_elements = 0;
  float *hidden = nullptr;
  __half *x = nullptr, *q = nullptr, *k = nullptr, *v = nullptr, *attn = nullptr, *y = nullptr;
  __half *gate = nullptr, *up = nullptr;
  char *attn_workspace = nullptr;  // attention_workspace_bytes of this shape (split-KV decode's partials)
};

// Bump allocation of 256-byte aligned slices of one buffer: add() each
// slice, allocate bytes(), then assign() the base.
class Carver {
 public:
  template <class T>
  void add(T **slot, std::int64_t count) {
    slots_.push_back({reinterpret_cast<void **>(slot), offset_});
    offset_ += (static_cast<std::size_t>(count) * sizeof(T) + 255) / 256 * 256;
  }
  std::size_t bytes() const { return offset_; }
  void assign(void *base) {
    for (auto &s : slots_) *s.first = static_cast<char *>(base) + s.second;
  }

 private:
  std::vector<std::pair<void **, std::size_t>> slots_;
  std::size_t offset_ = 0;
};

// The activations slices a block of `s` needs for `rows` rows (x, q, k, v,
// attn, y, gate, up; `wide` columns for x and y), and the attention's
// workspace for r's batch, seq and past (set them first).
void carve_block(Carver &carve, RunBuffers &r, const gptq_plugin_model_spec &s, std::int64_t rows,
                 std::int64_t wide);

// A block's norms: fp32 weight and bias (bias null for RMSNorm).
struct BlockNorms {
  const float *attn_weight = nullptr, *attn_bias = nullptr;
  const float *mlp_weight = nullptr, *mlp_bias = nullptr;
};

// The linear of `role` (GPTQ_PLUGIN_ROLE_Q .. DOWN) about to run on x (fp16
// [rows][cols]); called just before it runs, once per linear.
using LinearFor = std::function<const DeviceLinear &(std::int32_t role, const __half *x, std::int64_t cols)>;

// Where a pre-norm block meets its neighbours: the norm that opens it may
// have been computed by the block before it, and its last residual add may
// compute the norm that comes after it (the next block's attention norm or
// the model's final norm) into r.x, in one kernel instead of two.
struct BlockSeams {
  bool input_normed = false;  // r.x holds the attention norm of r.hidden already
  const float *next_weight = nullptr, *next_bias = nullptr;  // the norm after the block; null: none
};

// The linear fused from q, k, v (asked with GPTQ_PLUGIN_ROLE_Q) or from gate,
// up (GPTQ_PLUGIN_ROLE_GATE), whose one product writes r.q, r.k, r.v (r.gate,
// r.up) as the members would; null when they run apart. An empty FusedFor:
// every linear apart.
using FusedFor = std::function<const DeviceLinear *(std::int32_t first_role)>;

// Runs block `layer` on r.hidden in place: sequence b's K/V go to
// r.k_cache/v_cache at positions r.past_at[b].. (a layer's slice when
// layer_elements > 0). Only
// enqueues work on call.stream. Seams only for pre-norm blocks.
void run_block(const gptq_plugin_model_spec &s, NormKind norm, ActKind act, const BlockNorms &norms,
               const LinearFor &linear, const FusedFor &fused, std::int64_t layer, RunBuffers &r,
               const LinearCall &call, const BlockSeams &seams = {});

// The spec's checks (InvalidArgument naming the field).
void check_model_spec(const gptq_plugin_model_spec &s);
// The name of a role for messages ("q projection"); null for none.
const char *role_name(std::int32_t role);
// The [rows][cols] the spec gives a role (a norm: 1 x its width).
std::pair<std::int64_t, std::int64_t> role_shape(const gptq_plugin_model_spec &s, std::int32_t role);

}  // namespace gptq::cuda
