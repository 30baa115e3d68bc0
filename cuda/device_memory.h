// The one way the CUDA backend gets device memory: DeviceBuffer (untyped) and
// DeviceArray<T> (a typed view of one), each owning its allocation and
// freeing it on every path out, errors included. An allocation that fails is
// a CudaError(cudaErrorMemoryAllocation) — GPTQ_PLUGIN_ERR_OUT_OF_MEMORY at
// the plugin boundary — whose message names what it was for, the bytes asked
// and the bytes free.
//
// Every allocation is charged to the MemoryAccount of the plugin state whose
// entry is running on the calling thread (AccountScope, set by the plugin
// boundary), and credited back to that same account when freed: live and
// peak bytes per state, for the report's peak_device_bytes and the no-leak
// tests. Outside a plugin entry (the kernels' own tests) nothing is counted.
// The libraries' own memory (the CUDA context, cuBLAS/cuSOLVER handles) is
// not ours and is not counted.
//
// The account is also the test hook of backend_plugin.h's inject_failure:
// armed, its nth allocation (or nth checked library call, cuda_check.h,
// before the call is made) fails once through the same path as a real
// refusal.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gptq::cuda {

class MemoryAccount {
 public:
  struct Use {
    std::uint64_t live = 0;         // bytes held now
    std::uint64_t peak = 0;         // most held at once since open or the last reset
    std::uint64_t allocations = 0;  // allocations made since open
    std::uint64_t pinned = 0;       // pinned host bytes held now (host_staging.h), not device memory
  };
  // reset_peak: after reading, the peak restarts from what is live.
  Use use(bool reset_peak);

  // Test hook: the nth allocation / checked call from now fails, once; 0
  // disarms.
  void fail_allocation(std::int64_t nth) { fail_allocation_in_.store(nth); }
  void fail_check(std::int64_t nth) { fail_check_in_.store(nth); }

  // For DeviceBuffer and cuda_check.h: counts one allocation (one check);
  // true when it is the one armed to fail.
  bool allocation_fails();
  bool check_fails();
  void charge(std::size_t bytes);
  void credit(std::size_t bytes);
  // Pinned host memory (host_staging.h): counted apart, never in live/peak.
  void charge_pinned(std::size_t bytes) { pinned_.fetch_add(bytes); }
  void credit_pinned(std::size_t bytes) { pinned_.fetch_sub(bytes); }

 private:
  static bool count_down(std::atomic<std::int64_t> &armed);
  std::atomic<std::uint64_t> live_{0}, peak_{0}, allocations_{0}, pinned_{0};
  std::atomic<std::int64_t> fail_allocation_in_{0}, fail_check_in_{0};
};

// While one lives on a thread, allocations on that thread are charged to
// `account` (null: to none). Scopes nest (an observer's entries run inside
// block_run's).
class AccountScope {
 public:
  explicit AccountScope(MemoryAccount *account);
  ~AccountScope();
  AccountScope(const AccountScope &) = delete;
  AccountScope &operator=(const AccountScope &) = delete;

 private:
  MemoryAccount *outer_;
};

// The account of the entry running on this thread (null outside one).
MemoryAccount *current_account();

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // cudaMalloc of `bytes` (none for 0).
  DeviceBuffer(std::size_t bytes, std::string_view what);
  // cudaMallocAsync on `stream` (freed on the same stream): per-run scratch.
  DeviceBuffer(std::size_t bytes, std::string_view what, cudaStream_t stream);
  ~DeviceBuffer() { release(); }
  DeviceBuffer(DeviceBuffer &&other) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;

  void *get() const { return ptr_; }
  template <class T>
  T *as() const {
    return static_cast<T *>(ptr_);
  }
  std::size_t bytes() const { return bytes_; }
  // Frees now (a free cannot fail usefully here; the next call reports a
  // broken context).
  void release() noexcept;

 private:
  void allocate(std::string_view what);
  void *ptr_ = nullptr;
  std::size_t bytes_ = 0;
  cudaStream_t stream_ = nullptr;
  bool async_ = false;
  MemoryAccount *account_ = nullptr;  // charged at allocation, credited at release
};

// `count` elements of T in one DeviceBuffer.
template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(std::size_t count, std::string_view what) : buffer_(count * sizeof(T), what) {}

  T *get() const { return buffer_.as<T>(); }
  std::size_t size() const { return buffer_.bytes() / sizeof(T); }
  std::size_t bytes() const { return buffer_.bytes(); }
  void reset() { buffer_.release(); }

 private:
  DeviceBuffer buffer_;
};

}  // namespace gptq::cuda
