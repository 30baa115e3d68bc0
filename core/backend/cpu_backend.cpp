#include "core/backend/cpu_backend.h"

#include <sched.h>

#include <fstream>
#include <string>
#include <thread>

namespace gptq {
namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : threads_(threads), model_(cpu_model_name()) {}
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
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

std::unique_ptr<Backend> open_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace gptq
