// A small page-locked host buffer owned for a long time: the staging of the
// inputs and outputs a captured decode step copies every step (one copy each
// way from memory the DMA engines read directly, instead of several small
// copies the driver first stages from pageable memory). Charged to the
// MemoryAccount of the entry that made it as pinned host memory (as
// host_staging.h's chunks) and credited back to it when freed. Large or
// short-lived transfers go through host_staging.h, not this.
#pragma once

#include <cstddef>
#include <string_view>

namespace gptq::cuda {

class MemoryAccount;

class PinnedHostBuffer {
 public:
  PinnedHostBuffer() = default;
  // cudaHostAlloc of `bytes` (none for 0); a refusal is a CudaError naming
  // `what` and the size (cuda_check.h).
  PinnedHostBuffer(std::size_t bytes, std::string_view what);
  ~PinnedHostBuffer() { release(); }
  PinnedHostBuffer(PinnedHostBuffer &&other) noexcept;
  PinnedHostBuffer &operator=(PinnedHostBuffer &&other) noexcept;
  PinnedHostBuffer(const PinnedHostBuffer &) = delete;
  PinnedHostBuffer &operator=(const PinnedHostBuffer &) = delete;

  void *get() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }
  // Frees now (no copy may still read or write it).
  void release() noexcept;

 private:
  void *ptr_ = nullptr;
  std::size_t bytes_ = 0;
  MemoryAccount *account_ = nullptr;  // charged at allocation, credited at release
};

}  // namespace gptq::cuda
