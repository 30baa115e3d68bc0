#include "core/quant/layer_loss.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "core/cpu/parallel_blas.h"

namespace gptq::quant {

double layer_loss(const Compute &compute, const float *w, const float *w_hat, const float *hessian,
                  std::int64_t rows, std::int64_t cols) {
  constexpr std::int64_t kRows = 64;  // E H for 64 rows: one product per task
  const std::int64_t chunks = (rows + kRows - 1) / kRows;
  std::vector<double> sums(static_cast<std::size_t>(chunks), 0.0);
  compute.for_each(chunks, [&](std::int64_t c) {
    const std::int64_t r0 = c * kRows, n = std::min(kRows, rows - r0);
    const auto size = static_cast<std::size_t>(n * cols);
    std::vector<float> e(size), eh(size);
    const float *wr = w + r0 * cols, *qr = w_hat + r0 * cols;
    for (std::size_t i = 0; i < size; ++i) e[i] = wr[i] - qr[i];
    serial_gemm(Trans::No, Trans::No, n, cols, cols, 1.0f, e.data(), cols, hessian, cols, 0.0f, eh.data(), cols);
    double loss = 0.0;
    for (std::size_t i = 0; i < size; ++i) loss += static_cast<double>(e[i]) * eh[i];
    sums[static_cast<std::size_t>(c)] = loss;
  });
  return std::accumulate(sums.begin(), sums.end(), 0.0) / 2.0;
}

}  // namespace gptq::quant
