// The one way the CUDA backend copies host memory to the device
// (copy_to_device): through pinned staging on a copy stream of its own when
// the plugin state whose entry runs on this thread has staging (StagingScope,
// set by the plugin boundary next to its AccountScope), else one
// cudaMemcpyAsync from the caller's pageable memory.
//
// Why: a copy from pageable memory on the state's stream first waits for the
// work queued on that stream and holds the calling thread until the driver
// has staged it, in its own small pinned buffers. Through our staging the
// calling thread fills one pinned chunk while the previous one is on the bus,
// the copy runs on the copy stream (no wait for kernels queued after what the
// destination needs), and the caller's stream waits for it with an event:
// the host work of the next tensor (a model's next layer at load, the
// quantizer's next weight) overlaps the copy.
//
// Pinned memory is two chunks, allocated on the first copy and reused; its
// bytes are charged to the state's MemoryAccount as pinned host memory. A
// chunk is filled by a few threads (ParallelMemcpy): one thread's memcpy
// was the slower half of a staged upload.
// Host memory the core keeps long and uploads often (the calibration rows it
// parks between block runs) can be page-locked in place (pin(), plugin table
// v8's host_pin): a copy from inside such a range goes straight to the
// device, at the bus's speed, with no memcpy into the chunks; its bytes are
// charged as pinned too. When
// the system refuses pinned memory (or a stream or event cannot be made),
// every copy falls back to pageable cudaMemcpyAsync, said once in the log;
// nothing fails for it. Every CUDA call is checked (cuda_check.h), so the
// failure-injection hook reaches them.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cuda/parallel_memcpy.h"

namespace gptq::cuda {

class MemoryAccount;

class HostStaging {
 public:
  // `info` gets the one line said when pinned memory cannot be had.
  explicit HostStaging(std::function<void(const std::string &)> info, std::size_t chunk_bytes = kChunkBytes);
  // Waits for the copies in flight, then frees the chunks, events and stream.
  ~HostStaging();
  HostStaging(const HostStaging &) = delete;
  HostStaging &operator=(const HostStaging &) = delete;

  // `bytes` from host `src` to device `dst`, ordered after the work queued
  // on `stream` (which may still use dst) and before any work queued on it
  // later. `src` may be reused when this returns. With `wait`, returns only
  // when the bytes are on the device (the callers that promise a
  // synchronous upload). Several threads may call it: copies go one at a
  // time.
  void copy(void *dst, const void *src, std::size_t bytes, cudaStream_t stream, bool wait);

  // Page-locks [ptr, ptr + bytes) until unpin(ptr) (cudaHostRegister;
  // cudaErrorMemoryAllocation when the system will not lock that much).
  void pin(void *ptr, std::size_t bytes);
  // Undoes pin(ptr), once no copy reads it; unknown pointers are ignored.
  void unpin(void *ptr) noexcept;

  struct Totals {
    std::uint64_t staged_bytes = 0;    // copied through the pinned chunks
    std::uint64_t direct_bytes = 0;    // copied straight from pinned ranges
    std::uint64_t pageable_bytes = 0;  // copied from pageable memory (fallback)
    double seconds = 0;                // in copy(), summed over the threads that called it
    bool pinned = false;               // the chunks exist
  };
  Totals totals() const;

  static constexpr std::size_t kChunkBytes = std::size_t{16} << 20;

 private:
  // Makes the chunks, stream and events on first use; false (once said in
  // the log) when they cannot be had.
  bool ready();
  void release() noexcept;
  // Whether [src, src + bytes) lies inside one pinned range.
  bool pinned_range(const void *src, std::size_t bytes) const;

  std::function<void(const std::string &)> info_;
  std::size_t chunk_bytes_;
  mutable std::mutex mutex_;
  bool tried_ = false;
  void *chunk_[2] = {nullptr, nullptr};
  cudaEvent_t chunk_free_[2] = {nullptr, nullptr};  // the copy out of chunk i has finished
  cudaEvent_t queued_ = nullptr;                     // the caller's stream reached the copy
  cudaEvent_t copied_ = nullptr;                     // the copy stream finished the copy
  cudaStream_t copy_stream_ = nullptr;
  std::unique_ptr<ParallelMemcpy> fill_;  // fills a chunk on a few threads (parallel_memcpy.h)
  MemoryAccount *account_ = nullptr;  // charged with the chunks' bytes
  // pin()'s ranges by start, each with its bytes and the account charged.
  struct Range {
    std::size_t bytes;
    MemoryAccount *account;
  };
  std::map<const char *, Range> pinned_;
  Totals totals_;
};

// While one lives on a thread, copy_to_device on that thread goes through
// `staging` (null: pageable copies). Scopes nest.
class StagingScope {
 public:
  explicit StagingScope(HostStaging *staging);
  ~StagingScope();
  StagingScope(const StagingScope &) = delete;
  StagingScope &operator=(const StagingScope &) = delete;

 private:
  HostStaging *outer_;
};

// HostStaging::copy on the thread's staging, or (outside a plugin entry, or
// for a state without staging) cudaMemcpyAsync on `stream`, then with `wait`
// a synchronization of `stream`.
void copy_to_device(void *dst, const void *src, std::size_t bytes, cudaStream_t stream, bool wait);

}  // namespace gptq::cuda
