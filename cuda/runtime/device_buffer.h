// Uploads of host arrays into new device buffers (cuda/device_memory.h, the
// one allocator of the backend).
#pragma once

#include <cstddef>
#include <string>

#include "cuda/device_memory.h"

namespace gptq::cuda {

// A host array copied into a new buffer (synchronously: the host memory is
// only borrowed for the call).
template <class T>
DeviceBuffer upload(const T *host, std::size_t count, const std::string &what);

// fp32 values rounded to fp16 (round to nearest even) on the host, then
// uploaded.
DeviceBuffer upload_half(const float *host, std::size_t count, const std::string &what);

}  // namespace gptq::cuda
