#include "core/gptq_format/quantized_linear.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/tensor/finite_scan.h"
#include "core/tensor/half.h"
#include "core/tensor/shape_text.h"

namespace gptq::quant {
namespace {

[[noreturn]] void bad(const io::ShardedCheckpoint &c, const std::string &tensor, const std::string &what) {
  fail(Status::Format, c.directory().string() + ": tensor '" + tensor + "' " + what);
}

io::TensorView require(const io::ShardedCheckpoint &m, const std::string &name, DType dtype,
                       const std::vector<std::int64_t> &shape) {
  const auto view = m.find(name);
  if (!view) bad(m, name, "is missing (the layer has a qweight, so it is quantized)");
  if (view->dtype != dtype)
    bad(m, name, "is " + std::string(dtype_name(view->dtype)) + ", expected " +
                     std::string(dtype_name(dtype)));
  if (view->shape != shape)
    bad(m, name, "has shape " + shape_text(view->shape) + ", expected " + shape_text(shape) +
                     " for the quantization_config of this checkpoint");
  return *view;
}

template <class T>
std::vector<T> copy_out(const io::TensorView &v) {
  std::vector<T> out(v.data.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), v.data.data(), out.size() * sizeof(T));
  return out;
}

}  // namespace

bool is_quantized_linear(const io::ShardedCheckpoint &checkpoint, std::string_view prefix_view) {
  const std::string prefix(prefix_view);
  const bool packed = checkpoint.contains(prefix + ".qweight");
  if (packed && checkpoint.contains(prefix + ".weight"))
    fail(Status::Format, checkpoint.directory().string() + ": layer '" + prefix + "' holds both '" + prefix +
                             ".weight' and '" + prefix +
                             ".qweight', a float and a GPTQ version of the same layer; remove one of them");
  return packed;
}

PackedGptq read_packed_linear(const io::ShardedCheckpoint &model,
                                     const GptqQuantizationConfig &quantization,
                                     std::string_view prefix_view, std::int64_t n, std::int64_t k) {
  const std::string prefix(prefix_view);
  const GptqQuantizationConfig *q = &quantization;
  const int bits = q->bits;
  const auto qweight_view = model.find(prefix + ".qweight");
  if (!qweight_view) bad(model, prefix + ".qweight", "is missing");
  if ((k * bits) % 32 != 0 || (n * bits) % 32 != 0)
    bad(model, qweight_view->name, "belongs to a [" + std::to_string(n) + ", " + std::to_string(k) +
                                       "] layer that " + std::to_string(bits) +
                                       "-bit GPTQ packing cannot hold (K*bits and N*bits must be "
                                       "multiples of 32)");
  const std::int64_t groups = q->group_size == -1 ? 1 : (k + q->group_size - 1) / q->group_size;

  PackedGptq p;
  p.bits = bits;
  p.out_features = n;
  p.in_features = k;
  p.groups = groups;
  p.format = q->checkpoint_format;
  p.v1_zeros = v1_zero_reading(*q);
  p.qweight = copy_out<std::int32_t>(require(model, prefix + ".qweight", DType::I32, {k * bits / 32, n}));
  p.qzeros = copy_out<std::int32_t>(require(model, prefix + ".qzeros", DType::I32, {groups, n * bits / 32}));
  p.scales = copy_out<std::uint16_t>(require(model, prefix + ".scales", DType::F16, {groups, n}));
  {
    std::vector<float> scales(p.scales.size());
    std::transform(p.scales.begin(), p.scales.end(), scales.begin(), half_to_float);
    if (const auto at = first_non_finite(scales.data(), scales.size()))
      bad(model, prefix + ".scales",
          "holds " + std::string(std::isnan(scales[*at]) ? "NaN" : "an infinity") + " at " +
              element_text(*at, std::vector<std::int64_t>{groups, n}) + "; scales must be finite");
  }
  if (model.contains(prefix + ".g_idx")) {
    p.g_idx = copy_out<std::int32_t>(require(model, prefix + ".g_idx", DType::I32, {k}));
    for (std::int64_t i = 0; i < k; ++i) {
      const std::int32_t g = p.g_idx[static_cast<std::size_t>(i)];
      if (g < 0 || g >= groups)
        bad(model, prefix + ".g_idx", "has g_idx[" + std::to_string(i) + "] = " + std::to_string(g) +
                                          ", outside [0, " + std::to_string(groups) + ")");
    }
  } else {
    p.g_idx.resize(static_cast<std::size_t>(k));
    for (std::int64_t i = 0; i < k; ++i)
      p.g_idx[static_cast<std::size_t>(i)] =
          q->group_size == -1 ? 0 : static_cast<std::int32_t>(i / q->group_size);
  }
  return p;
}

}  // namespace gptq::quant
