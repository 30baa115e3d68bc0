// DeviceLinear: one linear layer's weights on the device, in the layout its
// kernels want, and their product with a batch of fp16 activations. The
// forward engine (a model's blocks, lm_head) is written against this one
// interface; the GPTQ kernels (int4/int8 GEMV and GEMM, the generic path for
// 2 and 3 bits) and the dense fp16 path (cuBLAS, for layers the checkpoint
// keeps unquantized) each implement it. Which kernel a product runs is the
// linear's choice, made per call from m.
#pragma once

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "cuda/cuda_check.h"

namespace gptq::cuda {

// A GPTQ linear as the core hands it over: unpacked and normalized by the
// one reader of quantized linears (core/gptq_format/quantized_linear.h), so
// that neither the checkpoint's format (v1/v2), the tool that wrote it nor
// its packing reaches the kernels. The weight it stands for is
//   w[n][k] = scales[g_idx[k]][n] * (codes[n][k] - zeros[g_idx[k]][n]).
// Host memory, borrowed for the duration of the upload.
struct HostGptqLinear {
  int bits = 0;                           // 2, 3, 4 or 8
  std::int64_t out_features = 0;          // N
  std::int64_t in_features = 0;           // K
  std::int64_t groups = 0;                // G
  const std::uint8_t *codes = nullptr;    // [N][K], each < 2^bits
  const std::int32_t *zeros = nullptr;    // [G][N], true zero points
  const float *scales = nullptr;          // [G][N], fp16 values widened
  const std::int32_t *g_idx = nullptr;    // [K], any order (act-order)
  const float *bias = nullptr;            // [N], or null
};

// What a product runs with: the caller's stream and cuBLAS handle (bound to
// that stream) and scratch memory of at least workspace_bytes(m) bytes that
// no other work on the device uses meanwhile. Several threads may run the
// same DeviceLinear at once, each with its own LinearCall.
struct LinearCall {
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  void *workspace = nullptr;
  std::size_t workspace_bytes = 0;
};

// The outputs of a linear fused from several of one input (q/k/v, gate/up),
// whose product reads the input and the weights once: part i, the columns
// of member i, goes to y[i], row-major [m][part_features(i)], so that each
// consumer finds the buffer it would find without fusion.
constexpr int kMaxLinearParts = 3;
struct LinearParts {
  int count = 0;
  __half *y[kMaxLinearParts] = {};
};

class DeviceLinear {
 public:
  virtual ~DeviceLinear() = default;
  virtual std::int64_t in_features() const = 0;   // K
  virtual std::int64_t out_features() const = 0;  // N
  // Device memory the weights hold.
  virtual std::size_t device_bytes() const = 0;
  // Scratch a product over m rows needs (act-order's permuted activations,
  // split-K partial sums, a dequantized tile); 0 when none.
  virtual std::size_t workspace_bytes(std::int64_t m) const = 0;
  // y[m][N] = x[m][K] * W^T (+ bias): fp16 in and out, fp32 accumulation,
  // row-major, x and y not aliased. Only enqueues work on call.stream: no
  // allocation, no synchronization, so that a decode step can be captured in
  // a CUDA graph. Throws CudaError (cuda/cuda_check.h) when a launch fails.
  virtual void forward(const __half *x, __half *y, std::int64_t m, const LinearCall &call) const = 0;

  // Members fused into this linear (1: none) and the out_features of each;
  // out_features() is their sum.
  virtual int parts() const { return 1; }
  virtual std::int64_t part_features(int) const { return out_features(); }
  // The product with each member's columns written apart; out.count must be
  // parts(). As forward otherwise (forward itself is for a linear of one part).
  virtual void forward_parts(const __half *x, const LinearParts &out, std::int64_t m, const LinearCall &call) const {
    if (out.count != 1)
      throw CudaError("a linear of one part asked for " + std::to_string(out.count) + " parts",
                      cudaErrorInvalidValue);
    forward(x, out.y[0], m, call);
  }
};

}  // namespace gptq::cuda
