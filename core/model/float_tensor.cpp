#include "core/model/float_tensor.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/tensor/half.h"

namespace gptq::model {
namespace {

template <class Bits>
Bits element(const std::byte *p) {
  Bits v;
  std::memcpy(&v, p, sizeof v);
  return v;  // safetensors is little-endian, as are the hosts we build for
}

}  // namespace

std::vector<float> to_float32(const io::TensorView &t) {
  const auto n = static_cast<std::size_t>(t.numel());
  std::vector<float> out(n);
  const std::byte *p = t.data.data();
  switch (t.dtype) {
    case DType::F32:
      if (n) std::memcpy(out.data(), p, n * sizeof(float));
      break;
    case DType::F16:
      for (std::size_t i = 0; i < n; ++i) out[i] = half_to_float(element<std::uint16_t>(p + 2 * i));
      break;
    case DType::BF16:
      // bfloat16 is the top half of a binary32.
      for (std::size_t i = 0; i < n; ++i)
        out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(element<std::uint16_t>(p + 2 * i)) << 16);
      break;
    default:
      fail(Status::Unsupported, "tensor " + t.name + " has dtype " + std::string(dtype_name(t.dtype)) +
                                    "; float weights must be F16, BF16 or F32");
  }
  return out;
}

std::string shape_text(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<float> load_float32(const io::ShardedCheckpoint &checkpoint, std::string_view name,
                                std::span<const std::int64_t> shape) {
  const io::TensorView t = checkpoint.tensor(name);
  if (!std::equal(t.shape.begin(), t.shape.end(), shape.begin(), shape.end()))
    fail(Status::Format, "tensor " + t.name + " in " + checkpoint.shard_of(name) + " has shape " +
                             shape_text(t.shape) + ", expected " + shape_text(shape) +
                             " from config.json");
  return to_float32(t);
}

}  // namespace gptq::model
