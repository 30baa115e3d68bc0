#include "cuda/runtime/make_linear.h"

#include <vector>

#include "cuda/kernels/gptq_linear.h"
#include "cuda/runtime/dense_linear.h"
#include "cuda/plugin_error.h"

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

void check_gptq_linear(const HostGptqLinear &l, const std::string &what) {
  if (l.bits != 2 && l.bits != 3 && l.bits != 4 && l.bits != 8)
    throw InvalidArgument(what + ": " + std::to_string(l.bits) + "-bit GPTQ layers are not supported (2, 3, 4, 8)");
  if (l.out_features <= 0 || l.in_features <= 0 || l.groups <= 0 || !l.codes || !l.zeros || !l.scales || !l.g_idx)
    throw InvalidArgument(what + ": a GPTQ layer without its codes, zeros, scales or g_idx, or of no size");
  for (std::int64_t c = 0; c < l.in_features; ++c)
    if (l.g_idx[c] < 0 || l.g_idx[c] >= l.groups)
      throw InvalidArgument(what + ": g_idx[" + std::to_string(c) + "] = " + std::to_string(l.g_idx[c]) +
                            " is outside [0, " + std::to_string(l.groups) + ")");
}

std::unique_ptr<DeviceLinear> make_linear(const HostGptqLinear &l, cudaStream_t stream, const std::string &what) {
  check_gptq_linear(l, what);
  // Bits 4 and 8 have fast kernels (cuda/kernels/); 2 and 3 the generic
  // path, dequantized to fp16 once at load and multiplied by cuBLAS.
  if (has_gptq_kernel(l.bits)) return make_gptq_linear(l, stream);
  return make_dequantized_linear(l, what);
}

}  // namespace gptq::cuda
