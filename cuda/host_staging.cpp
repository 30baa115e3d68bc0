#include "cuda/host_staging.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <utility>

#include "cuda/cuda_check.h"
#include "cuda/device_memory.h"

namespace gptq::cuda {
namespace {

thread_local HostStaging *current = nullptr;

// The pageable copy (no staging, or none to be had): the driver stages it.
void pageable_copy(void *dst, const void *src, std::size_t bytes, cudaStream_t stream, bool wait) {
  GPTQ_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  if (wait) GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace

HostStaging::HostStaging(std::function<void(const std::string &)> info, std::size_t chunk_bytes)
    : info_(std::move(info)), chunk_bytes_(std::max<std::size_t>(chunk_bytes, 1)) {}

HostStaging::~HostStaging() {
  release();
  // Ranges the core did not unpin (it unpins before it frees them).
  while (!pinned_.empty()) unpin(const_cast<char *>(pinned_.begin()->first));
}

void HostStaging::release() noexcept {
  // Unchecked: nothing useful can be done about a failure here, and a chunk
  // must not be freed while a copy may read it.
  if (copy_stream_) (void)cudaStreamSynchronize(copy_stream_);
  for (int i = 0; i < 2; ++i) {
    if (chunk_[i]) {
      (void)cudaFreeHost(chunk_[i]);
      if (account_) account_->credit_pinned(chunk_bytes_);
    }
    if (chunk_free_[i]) (void)cudaEventDestroy(chunk_free_[i]);
    chunk_[i] = nullptr;
    chunk_free_[i] = nullptr;
  }
  fill_.reset();
  if (queued_) (void)cudaEventDestroy(queued_);
  if (copied_) (void)cudaEventDestroy(copied_);
  if (copy_stream_) (void)cudaStreamDestroy(copy_stream_);
  queued_ = copied_ = nullptr;
  copy_stream_ = nullptr;
  account_ = nullptr;
}

bool HostStaging::ready() {
  if (tried_) return chunk_[1] != nullptr;
  tried_ = true;
  try {
    account_ = current_account();
    for (int i = 0; i < 2; ++i) {
      GPTQ_CUDA_CHECK(cudaHostAlloc(&chunk_[i], chunk_bytes_, cudaHostAllocPortable));
      if (account_) account_->charge_pinned(chunk_bytes_);
      GPTQ_CUDA_CHECK(cudaEventCreateWithFlags(&chunk_free_[i], cudaEventDisableTiming));
    }
    GPTQ_CUDA_CHECK(cudaEventCreateWithFlags(&queued_, cudaEventDisableTiming));
    GPTQ_CUDA_CHECK(cudaEventCreateWithFlags(&copied_, cudaEventDisableTiming));
    GPTQ_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
    fill_ = std::make_unique<ParallelMemcpy>(ParallelMemcpy::default_helpers());
    totals_.pinned = true;
    return true;
  } catch (const std::exception &e) {
    (void)cudaGetLastError();  // a refused allocation is not sticky: clear it
    release();
    if (info_)
      info_("host uploads from pageable memory: no pinned staging (" + std::to_string(2 * chunk_bytes_) +
            " bytes): " + e.what());
    return false;
  }
}

void HostStaging::copy(void *dst, const void *src, std::size_t bytes, cudaStream_t stream, bool wait) {
  if (bytes == 0) return;
  const auto t0 = std::chrono::steady_clock::now();
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto add_time = [&] {
    totals_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  if (pinned_range(src, bytes)) {
    // Straight from the page-locked range, on the caller's stream; waited
    // for, since src may be reused when this returns.
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
    totals_.direct_bytes += bytes;
    add_time();
    return;
  }
  if (!ready()) {
    pageable_copy(dst, src, bytes, stream, wait);
    totals_.pageable_bytes += bytes;
    add_time();
    return;
  }
  try {
    // After what the caller's stream has queued (it may still use dst).
    GPTQ_CUDA_CHECK(cudaEventRecord(queued_, stream));
    GPTQ_CUDA_CHECK(cudaStreamWaitEvent(copy_stream_, queued_, 0));
    auto *to = static_cast<char *>(dst);
    const auto *from = static_cast<const char *>(src);
    int c = 0;
    for (std::size_t done = 0; done < bytes; done += chunk_bytes_, c ^= 1) {
      const std::size_t n = std::min(chunk_bytes_, bytes - done);
      // The chunk's last copy is done (an event never recorded is complete).
      GPTQ_CUDA_CHECK(cudaEventSynchronize(chunk_free_[c]));
      fill_->copy(chunk_[c], from + done, n);
      GPTQ_CUDA_CHECK(cudaMemcpyAsync(to + done, chunk_[c], n, cudaMemcpyHostToDevice, copy_stream_));
      GPTQ_CUDA_CHECK(cudaEventRecord(chunk_free_[c], copy_stream_));
    }
    GPTQ_CUDA_CHECK(cudaEventRecord(copied_, copy_stream_));
    GPTQ_CUDA_CHECK(cudaStreamWaitEvent(stream, copied_, 0));
    if (wait) GPTQ_CUDA_CHECK(cudaEventSynchronize(copied_));
  } catch (...) {
    // Leave no copy running into a destination the caller will free.
    (void)cudaStreamSynchronize(copy_stream_);
    throw;
  }
  totals_.staged_bytes += bytes;
  add_time();
}

void HostStaging::pin(void *ptr, std::size_t bytes) {
  if (!ptr || bytes == 0) return;
  const std::lock_guard<std::mutex> lock(mutex_);
  try {
    GPTQ_CUDA_CHECK(cudaHostRegister(ptr, bytes, cudaHostRegisterDefault));
  } catch (...) {
    // A refusal is not sticky: clear it, or the next launch check would
    // report it as its own failure.
    (void)cudaGetLastError();
    throw;
  }
  MemoryAccount *account = current_account();
  if (account) account->charge_pinned(bytes);
  pinned_[static_cast<const char *>(ptr)] = Range{bytes, account};
}

void HostStaging::unpin(void *ptr) noexcept {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto it = pinned_.find(static_cast<const char *>(ptr));
  if (it == pinned_.end()) return;
  // Unchecked: a failure leaves nothing to undo (copies from the range wait
  // for themselves, so none reads it now); cleared, as in pin().
  if (cudaHostUnregister(ptr) != cudaSuccess) (void)cudaGetLastError();
  if (it->second.account) it->second.account->credit_pinned(it->second.bytes);
  pinned_.erase(it);
}

bool HostStaging::pinned_range(const void *src, std::size_t bytes) const {
  const auto *p = static_cast<const char *>(src);
  auto it = pinned_.upper_bound(p);  // the first range starting after p
  if (it == pinned_.begin()) return false;
  --it;
  return p + bytes <= it->first + it->second.bytes;
}

HostStaging::Totals HostStaging::totals() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return totals_;
}

StagingScope::StagingScope(HostStaging *staging) : outer_(current) { current = staging; }
StagingScope::~StagingScope() { current = outer_; }

void copy_to_device(void *dst, const void *src, std::size_t bytes, cudaStream_t stream, bool wait) {
  if (bytes == 0) return;
  if (current)
    current->copy(dst, src, bytes, stream, wait);
  else
    pageable_copy(dst, src, bytes, stream, wait);
}

}  // namespace gptq::cuda
