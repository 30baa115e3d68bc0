#include "core/cpu/cpu_backend.h"

#include <cblas.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

namespace gptq {
namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : threads_(threads), model_(cpu_model_name()) {
    openblas_set_num_threads(threads_);
  }
  std::string_view name() const override { return "cpu"; }
  std::string device_name() const override {
    return model_ + " (" + std::to_string(threads_) + " threads)";
  }
  void self_test() override {}  // The CPU computes whatever core computes.

 private:
  int threads_;
  std::string model_;
};

}  // namespace

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto start = line.find_first_not_of(" \t", colon + 1);
        if (start != std::string::npos) return line.substr(start);
      }
    }
  }
  return "CPU";
}

int resolve_cpu_threads(int threads) {
  if (threads > 0) return threads;
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

int cpu_threads() { return std::max(1, openblas_get_num_threads()); }

namespace {
std::mutex blas_threads_mutex;
int single_threaded_depth = 0;
int saved_blas_threads = 1;
}  // namespace

SingleThreadedBlas::SingleThreadedBlas() {
  std::lock_guard lock(blas_threads_mutex);
  if (single_threaded_depth++ == 0) {
    saved_blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
  }
}

SingleThreadedBlas::~SingleThreadedBlas() {
  std::lock_guard lock(blas_threads_mutex);
  if (--single_threaded_depth == 0) openblas_set_num_threads(saved_blas_threads);
}

std::unique_ptr<Backend> open_cpu_backend(int threads) {
  return std::make_unique<CpuBackend>(resolve_cpu_threads(threads));
}

}  // namespace gptq
