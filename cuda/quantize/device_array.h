// Device memory owned by one object (the quantizer's buffers, Hessians and
// solve scratch), freed on every path out, errors included. Out of memory is
// a CudaError(cudaErrorMemoryAllocation) naming the bytes asked for, what
// they were for and what the device had free, which the plugin boundary
// reports as GPTQ_PLUGIN_ERR_OUT_OF_MEMORY.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>

namespace gptq::cuda {

// cudaMalloc of `bytes` for `what`; throws as above.
void *device_alloc(std::size_t bytes, const char *what);

template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(std::size_t count, const char *what)
      : data_(static_cast<T *>(device_alloc(count * sizeof(T), what))), count_(count) {}
  ~DeviceArray() { reset(); }
  DeviceArray(DeviceArray &&o) noexcept : data_(std::exchange(o.data_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  DeviceArray &operator=(DeviceArray &&o) noexcept {
    if (this != &o) {
      reset();
      data_ = std::exchange(o.data_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  DeviceArray(const DeviceArray &) = delete;
  DeviceArray &operator=(const DeviceArray &) = delete;

  T *get() const { return data_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * sizeof(T); }
  void reset() {
    if (data_) cudaFree(data_);  // a free cannot fail usefully here; the next call reports a broken context
    data_ = nullptr;
    count_ = 0;
  }

 private:
  T *data_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace gptq::cuda
