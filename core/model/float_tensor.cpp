#include "core/model/float_tensor.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/base/error.h"
#include "core/tensor/convert.h"
#include "core/tensor/finite_scan.h"

namespace gptq::model {

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
