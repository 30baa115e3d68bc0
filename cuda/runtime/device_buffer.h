// Device memory owned by one object. An allocation that fails is a CudaError
// with cudaErrorMemoryAllocation (GPTQ_PLUGIN_ERR_OUT_OF_MEMORY at the
// plugin boundary) whose message names what it was for, the bytes asked and
// the bytes free.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <vector>

namespace gptq::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // cudaMalloc of `bytes` (none for 0).
  DeviceBuffer(std::size_t bytes, const std::string &what);
  // cudaMallocAsync on `stream` (freed on the same stream): per-run scratch.
  DeviceBuffer(std::size_t bytes, const std::string &what, cudaStream_t stream);
  ~DeviceBuffer();
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

 private:
  void release() noexcept;
  void *ptr_ = nullptr;
  std::size_t bytes_ = 0;
  cudaStream_t stream_ = nullptr;
  bool async_ = false;
};

// A host array copied into a new buffer (synchronously: the host memory is
// only borrowed for the call).
template <class T>
DeviceBuffer upload(const T *host, std::size_t count, const std::string &what);

// fp32 values rounded to fp16 (round to nearest even) on the host, then
// uploaded.
DeviceBuffer upload_half(const float *host, std::size_t count, const std::string &what);

}  // namespace gptq::cuda
