// A model on the device, made from what the core hands over (backend_plugin.h:
// the spec, then each tensor by role, then finish), its KV cache, and the
// whole-model forward pass: embeddings, the blocks (pre- or post-norm,
// RoPE or learned positions, GQA attention over the cache, gated or plain
// MLP), the final norm and the logits, in fp32, to the host.
//
// Numerics: linear inputs and outputs, the KV cache and the attention output
// in fp16; the residual stream, norms, RoPE angles, softmax and the logits
// in fp32.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/backend/backend_plugin.h"
#include "cuda/device_linear.h"
#include "cuda/kernels/gptq_repack.h"
#include "cuda/runtime/block_forward.h"
#include "cuda/runtime/dense_linear.h"
#include "cuda/runtime/device_buffer.h"
#include "cuda/runtime/forward_device.h"
#include "cuda/runtime/kernels.h"

namespace gptq::cuda {

// Defined in device_model.cpp.
struct DecodeGraph;
struct ModelRun;
class DeviceSampler;  // device_sampler.h
struct SampleArgs;    // device_sampler.h

// Keys and values of `batch` sequences, every layer: keys
// [layer][batch][kv_heads][capacity][head_dim] fp16, then the values alike.
// Its decode steps (one token per sequence) run as one CUDA graph, captured
// on the first step and replayed on the next ones, whatever each sequence's
// length (the kernels read them from device memory): a step of a 7B model is
// hundreds of kernels, whose launches would otherwise cost as much host time
// as the kernels take on the GPU. A step that chooses its tokens on the
// device has the choice in the graph too. GPTQ_CUDA_GRAPHS=0 in the environment when
// the cache is made turns that off (to measure it, or to rule it out).
struct DeviceCache {
  DeviceCache();
  ~DeviceCache();
  std::int64_t batch = 0, capacity = 0;
  // Positions each sequence holds ([batch]; they may differ: batched
  // generation); grow only when a run succeeds.
  std::vector<std::int64_t> lengths;
  std::int64_t layer_elements = 0;  // per layer, of keys (and of values)
  DeviceBuffer memory;
  bool graphs = true;
  std::unique_ptr<DecodeGraph> decode;
  // The token choice's buffers, made on the first run that chooses.
  std::unique_ptr<DeviceSampler> sampler;
};

// A run that ends with each sequence's token chosen on the device
// (backend_plugin.h's model_run_sample): the step, and where the tokens go.
struct TokenChoice {
  const gptq_plugin_sampling *step = nullptr;
  std::int32_t *tokens = nullptr;  // host, [batch]
};

class DeviceModel {
 public:
  // Checks the spec (InvalidArgument naming the field).
  explicit DeviceModel(const gptq_plugin_model_spec &spec);

  // Several threads may set distinct tensors at once (the core loads a
  // model on its threads): the repack and the uploads run outside the lock
  // that guards the slots. Uploads are ordered before work queued on
  // `stream` afterwards.
  void set_dense(std::int32_t layer, std::int32_t role, const gptq_plugin_dense &t, cudaStream_t stream);
  void set_gptq(std::int32_t layer, std::int32_t role, const gptq_plugin_gptq_linear &l, cudaStream_t stream);
  // InvalidArgument naming the first tensor the spec needs that is missing.
  void finish();
  // After finish: which linears run fused, one line for the context's log
  // (how many layers fuse q/k/v and gate/up, and why the first that does not).
  const std::string &fusion_summary() const { return fusion_summary_; }
  // The load's repack and upload times and bytes, summed over the threads
  // that set tensors: one line for the log.
  std::string load_summary() const;

  std::unique_ptr<DeviceCache> make_cache(std::int64_t batch, std::int64_t capacity) const;

  // See backend_plugin.h's model_run; with `choice`, model_run_sample's
  // (last_only and a cache needed): logits gets only the rows the device
  // leaves to the host (cuda/runtime/device_sampler.h).
  void run(const ForwardDevice &device, const std::int32_t *ids, std::int64_t batch, std::int64_t seq,
           const std::int64_t *counts, DeviceCache *cache, bool last_only, const float *inv_freq,
           float *logits, const TokenChoice *choice = nullptr) const;

 private:
  struct Norm {
    DeviceBuffer weight, bias;  // fp32; bias empty for RMSNorm
  };
  // q/k/v, and gate/up of a gated MLP, share their input: when their
  // weights allow (kernels/gptq_repack.h's fuse_gptq) one product does each
  // group, held in qkv / gate_up (the members' slots then stay empty). A
  // group's 4- and 8-bit members wait, repacked on the host, until the group
  // is complete (settle_group).
  struct Block {
    Norm attn_norm, mlp_norm;
    std::unique_ptr<DeviceLinear> q, k, v, o, gate, up, down;
    std::unique_ptr<DeviceLinear> qkv, gate_up;
    std::map<std::int32_t, GptqPacked> waiting;  // by role
  };
  std::unique_ptr<DeviceLinear> *linear_slot(std::int32_t layer, std::int32_t role);
  // The roles of role's group, first the one the fused linear is asked by
  // (block_forward.h's FusedFor); empty when role is in none.
  std::vector<std::int32_t> group_of(std::int32_t role) const;
  // Refuses to set a member of a group that was fused already.
  void check_not_fused(std::int32_t layer, std::int32_t role) const;
  // Once every member of role's group is set: fuses the waiting members, or
  // uploads them apart and notes why.
  // Called with `lock` held; releases it while fusing and uploading.
  void settle_group(std::int32_t layer, std::int32_t role, cudaStream_t stream, std::unique_lock<std::mutex> &lock);
  std::string tensor_name(std::int32_t layer, std::int32_t role) const;
  void check_shape(std::int32_t layer, std::int32_t role, std::int64_t rows, std::int64_t cols) const;
  // The slices of one run's arena (ModelRun), for batch x seq rows.
  void lay_out(ModelRun &m, Carver &carve) const;
  // Points the run at the cache's keys and values, or at its scratch.
  void bind_cache(ModelRun &m, DeviceCache *cache) const;
  // Enqueues the forward pass from the run's device inputs (ids, position,
  // RoPE frequencies) to its device logits; between layers asks `cancel`
  // (null: never, as when captured).
  void enqueue(ModelRun &m, const LinearCall &call, const ForwardDevice *cancel) const;
  // The cache's captured decode step for this model, ending with the token
  // choice `choice` (null: none; its logits, flags and draws are the
  // step's own), made on first use and again when the choice's launch
  // changes (same_choice in device_model.cpp).
  DecodeGraph &decode_graph(DeviceCache &cache, const ForwardDevice &device, const SampleArgs *choice) const;

  gptq_plugin_model_spec spec_;
  std::string model_type_;
  NormKind norm_kind_;
  ActKind act_;
  std::shared_ptr<const DeviceBuffer> embed_tokens_;  // fp16 [vocab][embed_width]
  DeviceBuffer embed_positions_;                      // fp16 [positions][hidden]
  Norm final_norm_;
  std::unique_ptr<DenseLinear> lm_head_;
  std::unique_ptr<DeviceLinear> project_in_, project_out_;
  std::vector<Block> blocks_;
  bool finished_ = false;
  std::mutex mutex_;  // guards the slots, waiting members and counts while tensors are set
  int fused_qkv_ = 0, fused_gate_up_ = 0;
  std::int32_t first_apart_layer_ = -1;
  std::string first_apart_;  // why the group of the lowest layer left apart is
  std::atomic<std::int64_t> repack_ns_{0}, upload_ns_{0};
  std::atomic<std::uint64_t> upload_bytes_{0};
  std::string fusion_summary_;
};

}  // namespace gptq::cuda
