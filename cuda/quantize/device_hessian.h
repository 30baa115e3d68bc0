// A layer's Hessian H = 2/n * sum x^T x on the device, as
// core/quant/hessian.h keeps it on the host: the plain sum of X^T X is
// accumulated (upper part only) and scaled by 2/n once, at finish().
//
// fp32 (the default): each batch is split into bf16 parts, x = hi + lo +
// O(2^-16 x), and hi*hi + hi*lo + lo*hi is summed on the tensor cores with
// fp32 accumulation (one product over the three pairs stacked): each
// product's error is then ~2^-16 relative and unbiased, about what fp32
// summation leaves in H, at the bf16 rate. (Plain TF32 — 2^-11 per input —
// moved 0.13% of the codes and the act-order of near-equal columns in
// cuda_quantize_test, more than the CPU's own summation order does.)
// A batch the caller knows to hold fp16 values (the calibration forward's
// linear inputs, widened to fp32) is multiplied as fp16 instead: exact
// products, fp32 accumulation, one product instead of three.
// fp64: the batch widened to double, DGEMM (exact products, as the CPU's
// fp64 accumulator).
//
// The product is cut into column panels so only blocks on or above the
// diagonal are computed (syrk's half of the work plus the diagonal blocks).
#pragma once

#include <cstdint>

#include "cuda/device_memory.h"
#include "cuda/quantize/quantize_device.h"

namespace gptq::cuda {

class DeviceHessian {
 public:
  DeviceHessian(const QuantizeDevice &device, std::int64_t columns, bool fp64);

  std::int64_t columns() const { return k_; }
  bool finished() const { return h_.get() != nullptr; }

  // Adds the rows of x (device, [rows][columns] fp32) as `samples` samples
  // (-1: one per row); fp16_values: every value of x is an fp16 widened
  // (then multiplied as fp16; a value that is not would be rounded). A batch holding NaN or Inf (or values whose squares
  // overflow) throws InvalidArgument naming the element, and
  // the Hessian is unusable from then on.
  void accumulate(const float *x, std::int64_t rows, std::int64_t samples, bool fp16_values = false);
  // Scales by 2/n into the finished H; frees the sums.
  void finish();
  // A finished H given by the host ([k][k] row-major), replacing any sums.
  void write(const float *host);
  // The finished H to the host ([k][k] row-major).
  void read(float *host) const;
  // The finished H on the device ([k][k] row-major, symmetric).
  const float *matrix() const;

 private:
  const QuantizeDevice *dev_;
  std::int64_t k_;
  bool fp64_;
  bool poisoned_ = false;
  std::int64_t n_ = 0;
  DeviceArray<float> sum32_;
  DeviceArray<double> sum64_;
  DeviceArray<std::uint16_t> scratch16_;  // a chunk of rows as fp16, or split into bf16 [lo; hi; hi; lo]
  DeviceArray<double> scratch64_;  // a chunk of rows in double
  DeviceArray<unsigned long long> flag_;
  DeviceArray<float> h_;  // set by finish() or write()
};

}  // namespace gptq::cuda
