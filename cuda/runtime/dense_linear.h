// The dense linear: fp16 weights [N][K] on the device, products by
// cublasGemmEx with fp32 accumulation (tensor cores), the bias added in fp32.
// For lm_head, the layers a checkpoint keeps in float, and (through
// dequantized_linear.h) GPTQ layers without a kernel of their own.
#pragma once

#include <memory>
#include <string>

#include "cuda/device_linear.h"
#include "cuda/runtime/device_buffer.h"

namespace gptq::cuda {

class DenseLinear final : public DeviceLinear {
 public:
  // weight: fp16 [N][K] on the device, shared (tied embeddings use one table
  // for the lookup and lm_head); bias: fp32 [N] on the device or empty.
  DenseLinear(std::shared_ptr<const DeviceBuffer> weight, DeviceBuffer bias, std::int64_t out_features,
              std::int64_t in_features);

  std::int64_t in_features() const override { return k_; }
  std::int64_t out_features() const override { return n_; }
  std::size_t device_bytes() const override { return weight_->bytes() + bias_.bytes(); }
  std::size_t workspace_bytes(std::int64_t) const override { return 0; }
  void forward(const __half *x, __half *y, std::int64_t m, const LinearCall &call) const override;
  // The same product written in fp32 (the logits).
  void forward_f32(const __half *x, float *y, std::int64_t m, const LinearCall &call) const;

 private:
  std::shared_ptr<const DeviceBuffer> weight_;
  DeviceBuffer bias_;
  std::int64_t n_, k_;
};

// weight fp32 [N][K] (rounded to fp16), bias fp32 [N] or null; host arrays,
// copied before it returns. `what` names the layer in an out-of-memory error.
std::unique_ptr<DenseLinear> make_dense_linear(const float *weight, const float *bias, std::int64_t out_features,
                                               std::int64_t in_features, const std::string &what);

// The same, rounded to fp16 on the device (to nearest even, as upload_half)
// through `staging`, fp32 device scratch the caller keeps and this grows as
// needed: for weights uploaded often (the calibration runner's, replaced as
// they are quantized), where the host's conversion would cost more than the
// copy. Enqueued on `stream`; the host arrays may go when it returns.
std::unique_ptr<DenseLinear> make_dense_linear(const float *weight, const float *bias, std::int64_t out_features,
                                               std::int64_t in_features, const std::string &what,
                                               DeviceBuffer &staging, cudaStream_t stream);

// The same from fp32 weights already on the device (a quantize solve's
// dequantized result, left there for the calibration runner), read by work
// enqueued on `stream`: the caller keeps them until that work is done. The
// fp16 weights equal those of the host path for the same values.
std::unique_ptr<DenseLinear> make_dense_linear_from_device(const float *weight, const float *bias,
                                                           std::int64_t out_features, std::int64_t in_features,
                                                           const std::string &what, cudaStream_t stream);

}  // namespace gptq::cuda
