#include "cuda/pinned_host_buffer.h"

#include <cuda_runtime.h>

#include <string>
#include <utility>

#include "cuda/cuda_check.h"
#include "cuda/device_memory.h"

namespace gptq::cuda {

PinnedHostBuffer::PinnedHostBuffer(std::size_t bytes, std::string_view what) : bytes_(bytes) {
  if (bytes_ == 0) return;
  MemoryAccount *account = current_account();
  // The allocation hook of device_memory.h reaches this allocation too, so
  // the failure-injection tests cover the paths that make one.
  const bool injected = account && account->allocation_fails();
  const cudaError_t st = injected ? cudaErrorMemoryAllocation : cudaHostAlloc(&ptr_, bytes_, cudaHostAllocPortable);
  if (st != cudaSuccess) {
    (void)cudaGetLastError();  // a refused allocation is not sticky: clear it
    ptr_ = nullptr;
    throw CudaError("cudaHostAlloc of " + std::to_string(bytes_) + " bytes of page-locked host memory for " +
                        std::string(what) + " failed: " + cudaGetErrorName(st) +
                        (injected ? " (injected by the test hook)" : ""),
                    st);
  }
  account_ = account;
  if (account_) account_->charge_pinned(bytes_);
}

void PinnedHostBuffer::release() noexcept {
  if (ptr_) {
    (void)cudaFreeHost(ptr_);
    if (account_) account_->credit_pinned(bytes_);
  }
  ptr_ = nullptr;
  bytes_ = 0;
  account_ = nullptr;
}

PinnedHostBuffer::PinnedHostBuffer(PinnedHostBuffer &&o) noexcept
    : ptr_(std::exchange(o.ptr_, nullptr)),
      bytes_(std::exchange(o.bytes_, 0)),
      account_(std::exchange(o.account_, nullptr)) {}

PinnedHostBuffer &PinnedHostBuffer::operator=(PinnedHostBuffer &&o) noexcept {
  if (this != &o) {
    release();
    ptr_ = std::exchange(o.ptr_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
    account_ = std::exchange(o.account_, nullptr);
  }
  return *this;
}

}  // namespace gptq::cuda
