// The calibration forward of the layer-by-layer quantizer on the device
// (backend_plugin.h's block group): runs one block at a time on a hidden
// state that stays on the device, with the block's float tensors set one by
// one as the pipeline replaces them, and shows each linear's input to an
// observer just before the linear runs. The block's wiring is block_forward.h's,
// the whole-model forward's own.
//
// The observer sees the fp16 input the linear multiplies, widened to fp32:
// the Hessian is then that of the product as it runs here (and o_proj's and
// down_proj's inputs exist only in fp16).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/backend/backend_plugin.h"
#include "cuda/runtime/dense_linear.h"
#include "cuda/runtime/device_buffer.h"
#include "cuda/runtime/forward_device.h"
#include "cuda/runtime/kernels.h"

namespace gptq::cuda {

// Before linear `role` runs: its input x (device, fp32 [rows][cols], valid
// during the call; the linear's fp16 input widened, so every value is an
// fp16) and which of the block's distinct inputs it is (0: the
// attention's, 1: o_proj's, 2: the MLP's, 3: down_proj's; linears that share
// an input share its number and x). May call set_dense for this linear and
// those not yet run.
using BlockObserver =
    std::function<void(std::int32_t role, int input, const float *x, std::int64_t rows, std::int64_t cols)>;

class BlockRunner {
 public:
  // Checks the spec (InvalidArgument naming the field).
  explicit BlockRunner(const gptq_plugin_model_spec &spec);

  // A norm or linear of the block (shape as the spec says; InvalidArgument
  // otherwise). Linear weights go up in fp32 and are rounded to fp16 on
  // the device.
  void set_dense(std::int32_t role, const gptq_plugin_dense &t, cudaStream_t stream);
  // A linear from fp32 weights on the device ([rows][cols]; read by work
  // enqueued on `stream`, which the caller lets finish before it frees
  // them), bias on the host or null: the same fp16 weight as set_dense
  // gives for the same values.
  void set_dense_device(std::int32_t role, const float *weight, std::int64_t rows, std::int64_t cols,
                        const float *bias, cudaStream_t stream);

  // Runs the block on hidden (device, fp32 [batch * seq][hidden_size]) in
  // place, every sequence from position 0; see backend_plugin.h's
  // block_run. The scratch for all rows (the observer's fp32 copy of the
  // widest input included) is one allocation: out of memory names its bytes.
  // Forgets every tensor when it returns, thrown or not.
  void run(const ForwardDevice &device, float *hidden, std::int64_t batch, std::int64_t seq, const float *inv_freq,
           const BlockObserver &observe);

  std::int64_t hidden_size() const { return spec_.hidden_size; }

 private:
  struct Norm {
    DeviceBuffer weight, bias;  // fp32; bias empty for RMSNorm
  };
  static constexpr int kLinears = GPTQ_PLUGIN_ROLE_DOWN - GPTQ_PLUGIN_ROLE_Q + 1;
  void forget();
  // Checks role and shape of a tensor for the block; returns the linear's
  // name for messages.
  std::string check_tensor(std::int32_t role, std::int64_t rows, std::int64_t cols, bool has_weight) const;

  gptq_plugin_model_spec spec_;
  std::string model_type_;
  NormKind norm_kind_;
  ActKind act_;
  Norm attn_norm_, mlp_norm_;
  std::unique_ptr<DenseLinear> linears_[kLinears];  // by role - Q
  DeviceBuffer staging_;                            // fp32 weights on their way to fp16
};

}  // namespace gptq::cuda
