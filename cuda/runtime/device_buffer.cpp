#include "cuda/runtime/device_buffer.h"

#include <cuda_fp16.h>

#include <cstdint>
#include <cstdio>
#include <utility>

#include "cuda/cuda_check.h"

namespace gptq::cuda {
namespace {

[[noreturn]] void out_of_memory(std::size_t bytes, const std::string &what, cudaError_t code) {
  (void)cudaGetLastError();  // allocation failures are not sticky: clear it
  std::size_t free_b = 0, total_b = 0;
  const bool known = cudaMemGetInfo(&free_b, &total_b) == cudaSuccess;
  char line[256];
  if (known)
    std::snprintf(line, sizeof line, ": %zu bytes asked, %zu of %zu bytes free on the device", bytes, free_b,
                  total_b);
  else
    std::snprintf(line, sizeof line, ": %zu bytes asked", bytes);
  throw CudaError("out of device memory for " + what + line + " (" + cudaGetErrorName(code) + ")",
                  cudaErrorMemoryAllocation);
}

}  // namespace

DeviceBuffer::DeviceBuffer(std::size_t bytes, const std::string &what) : bytes_(bytes) {
  if (bytes == 0) return;
  const cudaError_t st = cudaMalloc(&ptr_, bytes);
  if (st == cudaErrorMemoryAllocation) out_of_memory(bytes, what, st);
  GPTQ_CUDA_CHECK(st);
}

DeviceBuffer::DeviceBuffer(std::size_t bytes, const std::string &what, cudaStream_t stream)
    : bytes_(bytes), stream_(stream), async_(true) {
  if (bytes == 0) return;
  const cudaError_t st = cudaMallocAsync(&ptr_, bytes, stream);
  if (st == cudaErrorMemoryAllocation) out_of_memory(bytes, what, st);
  GPTQ_CUDA_CHECK(st);
}

DeviceBuffer::~DeviceBuffer() { release(); }

void DeviceBuffer::release() noexcept {
  if (!ptr_) return;
  if (async_)
    cudaFreeAsync(ptr_, stream_);
  else
    cudaFree(ptr_);
  ptr_ = nullptr;
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&o) noexcept
    : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(o.bytes_), stream_(o.stream_), async_(o.async_) {}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&o) noexcept {
  if (this != &o) {
    release();
    ptr_ = std::exchange(o.ptr_, nullptr);
    bytes_ = o.bytes_;
    stream_ = o.stream_;
    async_ = o.async_;
  }
  return *this;
}

template <class T>
DeviceBuffer upload(const T *host, std::size_t count, const std::string &what) {
  DeviceBuffer b(count * sizeof(T), what);
  if (count) GPTQ_CUDA_CHECK(cudaMemcpy(b.get(), host, count * sizeof(T), cudaMemcpyHostToDevice));
  return b;
}

template DeviceBuffer upload<float>(const float *, std::size_t, const std::string &);
template DeviceBuffer upload<std::int32_t>(const std::int32_t *, std::size_t, const std::string &);
template DeviceBuffer upload<__half>(const __half *, std::size_t, const std::string &);
template DeviceBuffer upload<std::int64_t>(const std::int64_t *, std::size_t, const std::string &);

DeviceBuffer upload_half(const float *host, std::size_t count, const std::string &what) {
  std::vector<__half> h(count);
  for (std::size_t i = 0; i < count; ++i) h[i] = __float2half_rn(host[i]);
  return upload(h.data(), count, what);
}

}  // namespace gptq::cuda
