#include "core/backend/runtime.h"

#include "core/backend/backend_loader.h"
#include "core/cpu/blas_kernel_advice.h"
#include "core/backend/cpu_backend.h"
#include "core/error.h"

namespace gptq {

Runtime::Runtime(const schema::RuntimeConfigT &config)
    : config_(config), logger_(static_cast<LogLevel>(config.log_level)) {
  using schema::Backend;
  switch (config_.backend) {
    case Backend::cpu:
      break;
    case Backend::cuda:
      backend_ = open_cuda_backend(config_.device, logger_);
      break;
    case Backend::auto_:
      try {
        backend_ = open_cuda_backend(config_.device, logger_);
      } catch (const Error &e) {
        logger_.info(std::string("backend auto: using the CPU because CUDA is unavailable: ") + e.what());
      }
      break;
  }
  config_.threads = resolve_cpu_threads(config_.threads);
  pool_ = std::make_shared<ThreadPool>(config_.threads);
  if (backend_) {
    config_.backend = Backend::cuda;
    logger_.info("backend: cuda on " + backend_->device_name());
  } else {
    backend_ = open_cpu_backend(config_.threads);
    config_.backend = Backend::cpu;
    logger_.info("backend: cpu on " + backend_->device_name());
  }
  if (auto advice = blas_kernel_advice()) logger_.warn(*advice);
}

}  // namespace gptq
