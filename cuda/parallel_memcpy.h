// One memcpy split over a few threads that live as long as the object: how
// HostStaging fills a pinned chunk. A single thread copies host memory at a
// fraction of what the memory system and the PCIe link move (the staging
// copy's host side was the slower half of an upload), and a staged upload
// is one host memcpy after another; a few threads on disjoint parts of each
// chunk take the host side closer to the link's speed. The threads sleep
// between copies.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace gptq::cuda {

class ParallelMemcpy {
 public:
  // `helpers` threads besides the caller's (0: every copy on the caller).
  explicit ParallelMemcpy(unsigned helpers);
  ~ParallelMemcpy();
  ParallelMemcpy(const ParallelMemcpy &) = delete;
  ParallelMemcpy &operator=(const ParallelMemcpy &) = delete;

  // memcpy(dst, src, bytes), the parts on the helpers and the caller; returns
  // when every part is copied. One caller at a time (HostStaging's lock).
  void copy(void *dst, const void *src, std::size_t bytes);

  unsigned helpers() const { return parts_ - 1; }

  // The helpers a staging gets on this machine: a quarter of the hardware
  // threads, at most 3 (four copies in flight fill the link on the H200
  // machine's host), none on a machine of 2 or 3; GPTQ_STAGING_THREADS=N
  // (1..16 threads in all, the caller's included) overrides it.
  static unsigned default_helpers();

 private:
  void run(unsigned index);
  // The part of [0, bytes) that part `i` of `parts` copies (64-byte aligned
  // boundaries, so no two threads write one cache line).
  static void part(std::size_t bytes, unsigned parts, unsigned i, std::size_t &begin, std::size_t &end);

  unsigned parts_;  // helpers + the caller; set in the constructor, read once a copy has begun
  std::mutex mutex_;
  std::condition_variable work_, done_;
  std::vector<std::thread> threads_;
  char *dst_ = nullptr;
  const char *src_ = nullptr;
  std::size_t bytes_ = 0;
  unsigned long long generation_ = 0;  // one per copy: a helper's signal to start
  unsigned pending_ = 0;               // helpers yet to finish this copy
  bool stop_ = false;
};

}  // namespace gptq::cuda
