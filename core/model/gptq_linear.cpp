#include "core/model/gptq_linear.h"

#include <optional>
#include <string>

#include "core/base/error.h"
#include "core/model/expected_tensors.h"
#include "core/model/float_tensor.h"
#include "core/model/model.h"

namespace gptq::model {
namespace {

[[noreturn]] void bad(const Model &m, const std::string &tensor, const std::string &what) {
  fail(Status::Format, m.directory().string() + ": tensor '" + tensor + "' " + what);
}

// [N, K] of <prefix>.weight as the architecture lays it out, if it names it.
std::optional<std::vector<std::int64_t>> expected_weight_shape(const Model &m,
                                                               const std::string &weight) {
  for (const auto &t : expected_tensors(m.spec()))
    if (t.name == weight) return t.shape;
  return std::nullopt;
}

// The layer's bias, when the checkpoint has one, by the one bias reader.
std::vector<float> bias_of(const Model &m, const std::string &prefix, std::int64_t n) {
  return load_linear_bias(m.weights(), m.spec(), prefix, n, m.weights().contains(prefix + ".bias"));
}

}  // namespace

bool is_quantized_linear(const Model &model, std::string_view prefix) {
  return quant::is_quantized_linear(model.weights(), prefix);
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
  return quant::read_packed_linear(model.weights(), *q, prefix, n, k);
}

LinearWeights dequantize_linear(const Model &model, std::string_view prefix) {
  const quant::PackedGptq p = read_packed_linear(model, prefix);
  LinearWeights out;
  out.out_features = p.out_features;
  out.in_features = p.in_features;
  out.weight = quant::dequantize_gptq(p);
  out.bias = bias_of(model, std::string(prefix), p.out_features);
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
  out.bias = bias_of(model, prefix, out.out_features);
  return out;
}

}  // namespace gptq::model
