#include "cuda/device_state.h"

#include "cuda/cuda_check.h"

namespace gptq::cuda {

DeviceState::DeviceState(int device) : device_(device) {
  GPTQ_CUDA_CHECK(cudaGetDeviceProperties(&props_, device_));
  activate();
  GPTQ_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

DeviceState::~DeviceState() {
  if (stream_) {
    cudaSetDevice(device_);
    cudaStreamDestroy(stream_);
  }
}

void DeviceState::activate() const { GPTQ_CUDA_CHECK(cudaSetDevice(device_)); }

}  // namespace gptq::cuda
