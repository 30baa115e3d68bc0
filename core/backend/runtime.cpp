#include "core/backend/runtime.h"

#include <cstdio>

#include "core/backend/backend_loader.h"
#include "core/cpu/blas_kernel_advice.h"
#include "core/cpu/cpu_info.h"
#include "core/base/error.h"

namespace gptq {
namespace {

// The engine `backend` has, else the CPU backend's, logging the fallback once.
template <class Engine>
std::shared_ptr<const Engine> engine_or_cpu(const std::shared_ptr<Backend> &backend,
                                            const std::shared_ptr<CpuBackend> &cpu,
                                            const Engine *(Backend::*get)() const, const char *what,
                                            const char *work, std::once_flag &logged, Logger &log) {
  if (const Engine *e = ((*backend).*get)()) return std::shared_ptr<const Engine>(backend, e);
  std::call_once(logged, [&] {
    log.warn("backend " + std::string(backend->name()) + " has no " + what + " engine; " + work +
             " runs on the CPU");
  });
  return std::shared_ptr<const Engine>(cpu, ((*cpu).*get)());
}

}  // namespace

Runtime::Runtime(const schema::RuntimeConfigT &config)
    : config_(config), logger_(static_cast<LogLevel>(config.log_level)) {
  using schema::Backend;
  std::unique_ptr<gptq::Backend> plugin;
  switch (config_.backend) {
    case Backend::cpu:
      break;
    case Backend::cuda:
      plugin = open_cuda_backend(config_.device, logger_);
      break;
    case Backend::auto_:
      try {
        plugin = open_cuda_backend(config_.device, logger_);
      } catch (const Error &e) {
        logger_.info(std::string("backend auto: using the CPU because CUDA is unavailable: ") + e.what());
      }
      break;
  }
  config_.threads = resolve_cpu_threads(config_.threads);
  cpu_ = std::make_shared<CpuBackend>(config_.threads);
  if (plugin) {
    backend_ = std::move(plugin);
    config_.backend = Backend::cuda;
    logger_.info("backend: cuda on " + backend_->device_name());
    if (const auto memory = backend_->memory()) {
      char line[128];
      std::snprintf(line, sizeof line, "backend: %.2f GiB of %.2f GiB device memory free",
                    static_cast<double>(memory->free) / (1 << 30), static_cast<double>(memory->total) / (1 << 30));
      logger_.debug(line);
    }
  } else {
    backend_ = cpu_;
    config_.backend = Backend::cpu;
    logger_.info("backend: cpu on " + backend_->device_name());
  }
  if (auto advice = blas_kernel_advice()) logger_.warn(*advice);
}

std::shared_ptr<const QuantizeEngine> Runtime::quantize_engine() {
  return engine_or_cpu<QuantizeEngine>(backend_, cpu_, &gptq::Backend::quantize_engine, "quantize", "quantization",
                                       quantize_fallback_logged_, logger_);
}

std::shared_ptr<const ForwardEngine> Runtime::forward_engine() {
  return engine_or_cpu<ForwardEngine>(backend_, cpu_, &gptq::Backend::forward_engine, "forward", "the forward pass",
                                      forward_fallback_logged_, logger_);
}

}  // namespace gptq
