#include "cuda/device_memory.h"

#include <cstdio>
#include <string>
#include <utility>

#include "cuda/cuda_check.h"

namespace gptq::cuda {
namespace {

thread_local MemoryAccount *current = nullptr;

// Real or injected, one message: what it was for, the bytes asked, the
// bytes free.
[[noreturn]] void out_of_memory(std::size_t bytes, std::string_view what, cudaError_t code, bool injected) {
  (void)cudaGetLastError();  // allocation failures are not sticky: clear it
  std::size_t free_b = 0, total_b = 0;
  const bool known = cudaMemGetInfo(&free_b, &total_b) == cudaSuccess;
  char line[256];
  if (known)
    std::snprintf(line, sizeof line, ": %zu bytes asked, %zu of %zu bytes free on the device", bytes, free_b,
                  total_b);
  else
    std::snprintf(line, sizeof line, ": %zu bytes asked", bytes);
  throw CudaError("out of device memory for " + std::string(what) + line + " (" + cudaGetErrorName(code) +
                      (injected ? ", injected by the test hook)" : ")"),
                  cudaErrorMemoryAllocation);
}

}  // namespace

MemoryAccount::Use MemoryAccount::use(bool reset_peak) {
  Use u{live_.load(), peak_.load(), allocations_.load(), pinned_.load()};
  if (reset_peak) peak_.store(u.live);
  return u;
}

bool MemoryAccount::count_down(std::atomic<std::int64_t> &armed) {
  std::int64_t n = armed.load();
  // Only the thread that takes it from 1 to 0 fails; a disarmed (0) hook
  // stays untouched.
  while (n > 0)
    if (armed.compare_exchange_weak(n, n - 1)) return n == 1;
  return false;
}

bool MemoryAccount::allocation_fails() {
  allocations_.fetch_add(1);
  return count_down(fail_allocation_in_);
}

bool MemoryAccount::check_fails() { return count_down(fail_check_in_); }

void MemoryAccount::charge(std::size_t bytes) {
  const std::uint64_t now = live_.fetch_add(bytes) + bytes;
  std::uint64_t peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
}

void MemoryAccount::credit(std::size_t bytes) { live_.fetch_sub(bytes); }

AccountScope::AccountScope(MemoryAccount *account) : outer_(current) { current = account; }
AccountScope::~AccountScope() { current = outer_; }

MemoryAccount *current_account() { return current; }

bool injected_check_failure() noexcept { return current && current->check_fails(); }

void throw_injected_failure(const char *call, const char *file, int line) {
  throw CudaError(std::string(call) + " failed at " + file + ":" + std::to_string(line) +
                      ": failure injected by the test hook",
                  cudaErrorUnknown);
}

DeviceBuffer::DeviceBuffer(std::size_t bytes, std::string_view what) : bytes_(bytes) { allocate(what); }

DeviceBuffer::DeviceBuffer(std::size_t bytes, std::string_view what, cudaStream_t stream)
    : bytes_(bytes), stream_(stream), async_(true) {
  allocate(what);
}

void DeviceBuffer::allocate(std::string_view what) {
  if (bytes_ == 0) return;
  MemoryAccount *account = current;
  if (account && account->allocation_fails()) out_of_memory(bytes_, what, cudaErrorMemoryAllocation, true);
  const cudaError_t st = async_ ? cudaMallocAsync(&ptr_, bytes_, stream_) : cudaMalloc(&ptr_, bytes_);
  if (st == cudaErrorMemoryAllocation) out_of_memory(bytes_, what, st, false);
  // Not GPTQ_CUDA_CHECK: its test hook would fail a call already made, and
  // the allocation would leak. Allocations have their own hook above.
  if (st != cudaSuccess) throw_cuda_error(st, async_ ? "cudaMallocAsync" : "cudaMalloc", __FILE__, __LINE__);
  account_ = account;
  if (account_) account_->charge(bytes_);
}

void DeviceBuffer::release() noexcept {
  if (ptr_) {
    if (async_)
      cudaFreeAsync(ptr_, stream_);
    else
      cudaFree(ptr_);
    if (account_) account_->credit(bytes_);
  }
  ptr_ = nullptr;
  bytes_ = 0;
  account_ = nullptr;
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&o) noexcept
    : ptr_(std::exchange(o.ptr_, nullptr)),
      bytes_(std::exchange(o.bytes_, 0)),
      stream_(o.stream_),
      async_(o.async_),
      account_(std::exchange(o.account_, nullptr)) {}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&o) noexcept {
  if (this != &o) {
    release();
    ptr_ = std::exchange(o.ptr_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
    stream_ = o.stream_;
    async_ = o.async_;
    account_ = std::exchange(o.account_, nullptr);
  }
  return *this;
}

}  // namespace gptq::cuda
