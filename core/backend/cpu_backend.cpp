#include "core/backend/cpu_backend.h"

#include <string>

#include "core/cpu/cpu_info.h"

namespace gptq {

CpuBackend::CpuBackend(int threads)
    : pool_(std::make_shared<ThreadPool>(threads)), model_(cpu_model_name()) {}

std::string CpuBackend::device_name() const {
  return model_ + " (" + std::to_string(pool_->threads()) + " threads)";
}

}  // namespace gptq
