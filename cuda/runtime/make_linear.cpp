#include "cuda/runtime/make_linear.h"

#include <vector>

#include "cuda/runtime/dense_linear.h"
#include "cuda/runtime/runtime_errors.h"

namespace gptq::cuda {

std::unique_ptr<DeviceLinear> make_dequantized_linear(const HostGptqLinear &l, const std::string &what) {
  const std::int64_t n = l.out_features, k = l.in_features;
  std::vector<float> w(static_cast<std::size_t>(n * k));
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t c = 0; c < k; ++c) {
      const std::int64_t g = l.g_idx[c];
      const auto i = static_cast<std::size_t>(g * n + r);
      w[static_cast<std::size_t>(r * k + c)] =
          l.scales[i] * static_cast<float>(static_cast<int>(l.codes[r * k + c]) - l.zeros[i]);
    }
  return make_dense_linear(w.data(), l.bias, n, k, what);
}

std::unique_ptr<DeviceLinear> make_linear(const HostGptqLinear &l, cudaStream_t stream, const std::string &what) {
  if (l.bits != 2 && l.bits != 3 && l.bits != 4 && l.bits != 8)
    throw InvalidArgument(what + ": " + std::to_string(l.bits) + "-bit GPTQ layers are not supported (2, 3, 4, 8)");
  if (l.out_features <= 0 || l.in_features <= 0 || l.groups <= 0 || !l.codes || !l.zeros || !l.scales || !l.g_idx)
    throw InvalidArgument(what + ": a GPTQ layer without its codes, zeros, scales or g_idx, or of no size");
  for (std::int64_t c = 0; c < l.in_features; ++c)
    if (l.g_idx[c] < 0 || l.g_idx[c] >= l.groups)
      throw InvalidArgument(what + ": g_idx[" + std::to_string(c) + "] = " + std::to_string(l.g_idx[c]) +
                            " is outside [0, " + std::to_string(l.groups) + ")");
  // Every width takes the generic path for now. The int4/int8 kernels of
  // cuda/kernels/ (make_gptq_linear: 1.4-2.3x cuBLAS at batch 1-16 on the
  // H200) are as close to the CPU as this path (docs-llama-16m RTN w4g128 and
  // w8g128 on the H200, windows of 8, 32, 100 and 512 tokens: perplexity
  // within 1.5e-5 of the CPU's either way), but with them the greedy text of
  // 2 of 8 prompts leaves the CPU's (this path: 8 of 8), which
  // cuda_forward_test's strict greedy check refuses. They are wired in here
  // once that check tells a near-tie (both fp16 paths differ from the fp32
  // CPU) from an error, and has been run on the GPU with them.
  (void)stream;
  return make_dequantized_linear(l, what);
}

}  // namespace gptq::cuda
