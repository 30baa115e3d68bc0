#include "core/model/float_tensor.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/base/error.h"
#include "core/tensor/convert.h"
#include "core/tensor/finite_scan.h"

namespace gptq::model {

std::string element_text(std::size_t index, std::span<const std::int64_t> shape) {
  std::string s = "element " + std::to_string(index);
  if (shape.size() < 2) return s;
  std::vector<std::int64_t> at(shape.size());
  auto rest = static_cast<std::int64_t>(index);
  for (std::size_t d = shape.size(); d-- > 0;) {
    at[d] = shape[d] > 0 ? rest % shape[d] : 0;
    rest = shape[d] > 0 ? rest / shape[d] : 0;
  }
  return s + " " + shape_text(at);
}

std::vector<float> to_float32(const io::TensorView &t) {
  if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
    fail(Status::Unsupported, "tensor " + t.name + " has dtype " + std::string(dtype_name(t.dtype)) +
                                  "; float weights must be F16, BF16 or F32");
  std::vector<float> out = to_float(t.dtype, t.data);
  if (const auto bad = first_non_finite(out.data(), out.size()))
    fail(Status::Format, "tensor " + t.name + " holds " + (std::isnan(out[*bad]) ? "NaN" : "an infinity") +
                             " at " + element_text(*bad, t.shape) + "; a checkpoint's weights must be finite");
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
  std::vector<float> out = to_float32(t);
  checkpoint.release(name);  // the float copy is what is used from now on
  return out;
}

}  // namespace gptq::model
