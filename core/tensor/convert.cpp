#include "core/tensor/convert.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/base/error.h"
#include "core/tensor/half.h"

namespace gptq {
namespace {

// One element at byte offset i*sizeof(T), read without assuming alignment.
template <class T>
T load(const std::byte *p, std::size_t i) {
  T v;
  std::memcpy(&v, p + i * sizeof(T), sizeof(T));
  return v;
}

}  // namespace

bool is_float_dtype(DType dtype) noexcept {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 || dtype == DType::F64;
}

void to_float(DType dtype, std::span<const std::byte> bytes, std::span<float> out) {
  if (!is_float_dtype(dtype))
    fail(Status::InvalidArgument,
         "cannot convert " + std::string(dtype_name(dtype)) + " elements to float32");
  const std::size_t n = bytes.size() / dtype_size(dtype);
  if (bytes.size() % dtype_size(dtype) != 0 || n != out.size())
    fail(Status::InvalidArgument, "to_float: " + std::to_string(bytes.size()) + " bytes of " +
                                      std::string(dtype_name(dtype)) + " for " +
                                      std::to_string(out.size()) + " floats");
  const std::byte *p = bytes.data();
  switch (dtype) {
    case DType::F32:
      if (n) std::memcpy(out.data(), p, n * sizeof(float));
      break;
    case DType::F16:
      for (std::size_t i = 0; i < n; ++i) out[i] = half_to_float(load<std::uint16_t>(p, i));
      break;
    case DType::BF16:  // the top half of a float32
      for (std::size_t i = 0; i < n; ++i)
        out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(load<std::uint16_t>(p, i)) << 16);
      break;
    case DType::F64:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load<double>(p, i));
      break;
    default:
      break;
  }
}

std::vector<float> to_float(DType dtype, std::span<const std::byte> bytes) {
  std::vector<float> out(is_float_dtype(dtype) ? bytes.size() / dtype_size(dtype) : 0);
  to_float(dtype, bytes, out);
  return out;
}

}  // namespace gptq
