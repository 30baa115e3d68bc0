// What the CUDA backend holds for one open device: the device index, its
// properties and the stream all work is queued on. Streams and workspaces are
// owned here and passed explicitly, never global.
#pragma once

#include <cuda_runtime.h>

#include <string>

namespace gptq::cuda {

class DeviceState {
 public:
  explicit DeviceState(int device);
  ~DeviceState();
  DeviceState(const DeviceState &) = delete;
  DeviceState &operator=(const DeviceState &) = delete;

  int device() const { return device_; }
  const cudaDeviceProp &properties() const { return props_; }
  cudaStream_t stream() const { return stream_; }
  // Makes this device current on the calling thread.
  void activate() const;

 private:
  int device_;
  cudaDeviceProp props_{};
  cudaStream_t stream_ = nullptr;
};

// Writes i * 3 + 1 into n ints on the device and checks them on the host.
void run_self_test(const DeviceState &state, int n);

}  // namespace gptq::cuda
