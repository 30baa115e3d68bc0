#include "cuda/runtime/device_buffer.h"

#include <cuda_fp16.h>

#include <cstdint>
#include <vector>

#include "cuda/host_staging.h"

namespace gptq::cuda {

template <class T>
DeviceBuffer upload(const T *host, std::size_t count, const std::string &what) {
  DeviceBuffer b(count * sizeof(T), what);
  copy_to_device(b.get(), host, count * sizeof(T), nullptr, true);
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
