#include "cuda/quantize/inverse_cholesky.h"

#include <algorithm>
#include <sstream>

#include "cuda/cuda_check.h"
#include "cuda/cusolver_check.h"
#include "cuda/device_memory.h"
#include "cuda/plugin_error.h"
#include "cuda/quantize/solve_kernels.h"

namespace gptq::cuda {
namespace {

// One try at damping `damp`: false when H + damp I is not (numerically)
// positive definite. a, info and the workspaces are the caller's.
class Factorizer {
 public:
  Factorizer(const QuantizeDevice &dev, std::int64_t k) : dev_(dev), k_(k) {
    const auto kk = static_cast<std::size_t>(k) * static_cast<std::size_t>(k);
    a_ = DeviceArray<double>(kk, "the Cholesky factorization (fp64)");
    info_ = DeviceArray<int>(2, "the factorization's status");
    std::size_t dpo = 0, hpo = 0, dtr = 0, htr = 0;
    GPTQ_CUSOLVER_CHECK(cusolverDnXpotrf_bufferSize(dev.solver(), dev.solver_params(), CUBLAS_FILL_MODE_UPPER, k,
                                                    CUDA_R_64F, a_.get(), k, CUDA_R_64F, &dpo, &hpo));
    GPTQ_CUSOLVER_CHECK(cusolverDnXtrtri_bufferSize(dev.solver(), CUBLAS_FILL_MODE_UPPER, CUBLAS_DIAG_NON_UNIT, k,
                                                    CUDA_R_64F, a_.get(), k, &dtr, &htr));
    work_ = DeviceArray<unsigned char>(std::max<std::size_t>(std::max(dpo, dtr), 1), "cuSOLVER's workspace");
    host_work_.resize(std::max<std::size_t>(std::max(hpo, htr), 1));
  }

  bool run(const float *h, float damp, float *u) {
    const cudaStream_t s = dev_.stream();
    reversed_damped(h, k_, damp, a_.get(), s);
    GPTQ_CUDA_CHECK(cudaMemsetAsync(info_.get(), 0, info_.bytes(), s));
    GPTQ_CUSOLVER_CHECK(cusolverDnXpotrf(dev_.solver(), dev_.solver_params(), CUBLAS_FILL_MODE_UPPER, k_, CUDA_R_64F,
                                         a_.get(), k_, CUDA_R_64F, work_.get(), work_.size(), host_work_.data(),
                                         host_work_.size(), info_.get()));
    int info[2] = {0, 0};
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(info, info_.get(), sizeof(int), cudaMemcpyDeviceToHost, s));
    dev_.sync();
    if (info[0] != 0) return false;  // > 0: the leading minor of that order is not positive definite
    GPTQ_CUSOLVER_CHECK(cusolverDnXtrtri(dev_.solver(), CUBLAS_FILL_MODE_UPPER, CUBLAS_DIAG_NON_UNIT, k_, CUDA_R_64F,
                                         a_.get(), k_, work_.get(), work_.size(), host_work_.data(),
                                         host_work_.size(), info_.get()));
    reversed_to_upper(a_.get(), k_, u, info_.get() + 1, s);
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(info, info_.get(), 2 * sizeof(int), cudaMemcpyDeviceToHost, s));
    dev_.sync();
    return info[0] == 0 && info[1] == 0;
  }

 private:
  const QuantizeDevice &dev_;
  std::int64_t k_;
  DeviceArray<double> a_;
  DeviceArray<int> info_;  // potrf/trtri's info, then the float range check
  DeviceArray<unsigned char> work_;
  std::vector<unsigned char> host_work_;
};

}  // namespace

double damped_inverse_upper_cholesky(const QuantizeDevice &device, const float *h, const std::vector<float> &diag,
                                     std::int64_t k, const gptq_plugin_quant_options &opt, float *u) {
  double mean = 0.0;
  for (std::int64_t i = 0; i < k; ++i) mean += diag[static_cast<std::size_t>(i)];
  const auto mean_diag = static_cast<float>(mean / static_cast<double>(k));
  Factorizer factor(device, k);
  double percent = opt.damp_percent;
  for (;;) {
    const float damp = static_cast<float>(percent) * mean_diag;
    if (factor.run(h, damp, u)) return percent;
    const double next = percent + opt.damp_auto_increment;
    if (opt.damp_auto_increment <= 0.0f || next > kMaxDampPercent + 1e-9) {
      std::ostringstream msg;
      msg << "the damped Hessian (" << k << "x" << k << ") is not positive definite at damp_percent " << percent
          << (opt.damp_auto_increment > 0.0f ? " (retries exhausted up to " : " (retry disabled; limit ")
          << kMaxDampPercent << ")";
      throw PluginError(GPTQ_PLUGIN_ERR_NUMERICAL, msg.str());
    }
    percent = next;
  }
}

}  // namespace gptq::cuda
