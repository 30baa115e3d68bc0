#include "cuda/parallel_memcpy.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace gptq::cuda {

ParallelMemcpy::ParallelMemcpy(unsigned helpers) : parts_(helpers + 1) {
  try {
    threads_.reserve(helpers);
    for (unsigned i = 0; i < helpers; ++i) threads_.emplace_back([this, i] { run(i); });
  } catch (...) {
    // Fewer threads than asked (the system refused one): copy with those.
    // The helpers read parts_ only once a copy has begun, after this.
    parts_ = static_cast<unsigned>(threads_.size()) + 1;
  }
}

ParallelMemcpy::~ParallelMemcpy() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_.notify_all();
  for (std::thread &t : threads_) t.join();
}

unsigned ParallelMemcpy::default_helpers() {
  if (const char *v = std::getenv("GPTQ_STAGING_THREADS")) {
    const long n = std::strtol(v, nullptr, 10);
    if (n >= 1 && n <= 16) return static_cast<unsigned>(n - 1);
  }
  return std::min(3u, std::thread::hardware_concurrency() / 4);
}

void ParallelMemcpy::part(std::size_t bytes, unsigned parts, unsigned i, std::size_t &begin, std::size_t &end) {
  const std::size_t per = (bytes / parts + 63) / 64 * 64;
  begin = std::min(bytes, per * i);
  end = i + 1 == parts ? bytes : std::min(bytes, per * (i + 1));
}

void ParallelMemcpy::copy(void *dst, const void *src, std::size_t bytes) {
  const unsigned parts = parts_;
  // Small copies are not worth waking anyone for.
  if (parts == 1 || bytes < (std::size_t{1} << 20)) {
    std::memcpy(dst, src, bytes);
    return;
  }
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    dst_ = static_cast<char *>(dst);
    src_ = static_cast<const char *>(src);
    bytes_ = bytes;
    pending_ = parts - 1;
    ++generation_;
  }
  work_.notify_all();
  std::size_t begin = 0, end = 0;
  part(bytes, parts, parts - 1, begin, end);  // the caller's part: the last
  std::memcpy(static_cast<char *>(dst) + begin, static_cast<const char *>(src) + begin, end - begin);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return pending_ == 0; });
}

void ParallelMemcpy::run(unsigned index) {
  unsigned long long seen = 0;
  for (;;) {
    char *dst = nullptr;
    const char *src = nullptr;
    std::size_t bytes = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      dst = dst_;
      src = src_;
      bytes = bytes_;
    }
    std::size_t begin = 0, end = 0;
    part(bytes, parts_, index, begin, end);
    std::memcpy(dst + begin, src + begin, end - begin);
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ > 0) continue;
    }
    done_.notify_one();
  }
}

}  // namespace gptq::cuda
