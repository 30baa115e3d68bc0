#include "core/quant/layer_loss.h"

#include <cblas.h>

#include <vector>

namespace gptq::quant {

double layer_loss(const float *w, const float *w_hat, const float *hessian, std::int64_t rows,
                  std::int64_t cols) {
  const std::size_t n = static_cast<std::size_t>(rows * cols);
  std::vector<float> e(n), eh(n);
  for (std::size_t i = 0; i < n; ++i) e[i] = w[i] - w_hat[i];
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows), static_cast<int>(cols),
              static_cast<int>(cols), 1.0f, e.data(), static_cast<int>(cols), hessian,
              static_cast<int>(cols), 0.0f, eh.data(), static_cast<int>(cols));
  double loss = 0.0;
  for (std::size_t i = 0; i < n; ++i) loss += static_cast<double>(e[i]) * eh[i];
  return loss / 2.0;
}

}  // namespace gptq::quant
