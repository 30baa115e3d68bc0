#include "core/model/gptq_linear.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>

#include "core/base/error.h"
#include "core/model/expected_tensors.h"
#include "core/model/float_tensor.h"
#include "core/model/model.h"
#include "core/tensor/finite_scan.h"
#include "core/tensor/half.h"

namespace gptq::model {
namespace {

[[noreturn]] void bad(const io::ShardedCheckpoint &c, const std::string &tensor, const std::string &what) {
  fail(Status::Format, c.directory().string() + ": tensor '" + tensor + "' " + what);
}

[[noreturn]] void bad(const Model &m, const std::string &tensor, const std::string &what) {
  bad(m.weights(), tensor, what);
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

// [N, K] of <prefix>.weight as the architecture lays it out, if it names it.
std::optional<std::vector<std::int64_t>> expected_weight_shape(const Model &m,
                                                               const std::string &weight) {
  for (const auto &t : expected_tensors(m.spec()))
    if (t.name == weight) return t.shape;
  return std::nullopt;
}

std::vector<float> read_bias(const Model &m, const std::string &prefix, std::int64_t n) {
  const auto bias = m.weights().find(prefix + ".bias");
  if (!bias) return {};
  if (bias->shape != std::vector<std::int64_t>{n})
    bad(m, bias->name, "has shape " + shape_text(bias->shape) + ", expected [" + std::to_string(n) + "]");
  return to_float32(*bias);
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

bool is_quantized_linear(const Model &model, std::string_view prefix) {
  return is_quantized_linear(model.weights(), prefix);
}

quant::V1ZeroReading v1_zero_reading(const GptqQuantizationConfig &q) {
  for (const GptqProducer &p : q.producers) {
    if (p.tool != "gptqmodel") continue;
    // "2.2.0", "4.0.0-dev1", "1.4.5+cu121": the leading numbers.
    int v[3] = {0, 0, 0};
    std::size_t at = 0;
    bool readable = !p.version.empty() && std::isdigit(static_cast<unsigned char>(p.version[0]));
    for (int i = 0; i < 3 && readable && at < p.version.size(); ++i) {
      const auto r = std::from_chars(p.version.data() + at, p.version.data() + p.version.size(), v[i]);
      if (r.ec != std::errc()) break;
      at = static_cast<std::size_t>(r.ptr - p.version.data());
      if (at >= p.version.size() || p.version[at] != '.') break;
      ++at;
    }
    if (!readable) return quant::V1ZeroReading::GptqModel;
    if (v[0] == 0 && v[1] < 9) return quant::V1ZeroReading::PerField;  // before its v2 code (0.9.0)
    return v[0] < 7 ? quant::V1ZeroReading::GptqModelBefore7 : quant::V1ZeroReading::GptqModel;
  }
  return quant::V1ZeroReading::PerField;
}

quant::PackedGptq read_packed_linear(const Model &model, std::string_view prefix_view) {
  const std::string prefix(prefix_view);
  const auto &q = model.spec().quantization;
  if (!q)
    fail(Status::Format, model.directory().string() +
                             ": config.json has no quantization_config, so '" + prefix +
                             "' cannot be read as a GPTQ layer");
  const int bits = q->bits;
  const auto qweight_view = model.weights().find(prefix + ".qweight");
  if (!qweight_view) bad(model, prefix + ".qweight", "is missing");
  const auto scales_view = model.weights().find(prefix + ".scales");
  if (!scales_view) bad(model, prefix + ".scales", "is missing (the layer has a qweight)");
  if (qweight_view->shape.size() != 2) bad(model, qweight_view->name, "is not 2-D");
  if (scales_view->shape.size() != 2) bad(model, scales_view->name, "is not 2-D");
  // N and K: the architecture's, else what the tensors say.
  std::int64_t n = scales_view->shape[1];
  std::int64_t k = qweight_view->shape[0] * 32 / bits;
  if (const auto expected = expected_weight_shape(model, prefix + ".weight")) {
    n = (*expected)[0];
    k = (*expected)[1];
  } else if (const auto g_idx = model.weights().find(prefix + ".g_idx");
             g_idx && g_idx->shape.size() == 1) {
    k = g_idx->shape[0];
  }
  return read_packed_linear(model.weights(), *q, prefix, n, k);
}

quant::PackedGptq read_packed_linear(const io::ShardedCheckpoint &model,
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

  quant::PackedGptq p;
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

LinearWeights dequantize_linear(const Model &model, std::string_view prefix) {
  const quant::PackedGptq p = read_packed_linear(model, prefix);
  LinearWeights out;
  out.out_features = p.out_features;
  out.in_features = p.in_features;
  out.weight = quant::dequantize_gptq(p);
  out.bias = read_bias(model, std::string(prefix), p.out_features);
  return out;
}

LinearWeights load_linear(const Model &model, std::string_view prefix_view) {
  if (is_quantized_linear(model, prefix_view)) return dequantize_linear(model, prefix_view);
  const std::string prefix(prefix_view);
  const auto w = model.weights().find(prefix + ".weight");
  if (!w) fail(Status::Format, model.directory().string() + ": no tensor '" + prefix +
                                   ".weight' or '" + prefix + ".qweight'");
  if (w->shape.size() != 2) bad(model, w->name, "has shape " + shape_text(w->shape) + ", expected 2-D");
  LinearWeights out;
  out.out_features = w->shape[0];
  out.in_features = w->shape[1];
  out.weight = to_float32(*w);
  out.bias = read_bias(model, prefix, out.out_features);
  return out;
}

}  // namespace gptq::model
