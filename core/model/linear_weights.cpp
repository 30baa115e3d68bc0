#include "core/model/linear_weights.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/base/error.h"
#include "core/model/float_tensor.h"
#include "core/gptq_format/gptq_packing.h"
#include "core/gptq_format/quantized_linear.h"

namespace gptq::model {

std::vector<float> dequantize_checkpoint_linear(const io::ShardedCheckpoint &checkpoint,
                                                const GptqQuantizationConfig &q,
                                                const std::string &prefix, std::int64_t out_features,
                                                std::int64_t in_features) {
  // One reader of packed layers for every caller (core/gptq_format/quantized_linear.h):
  // it checks each tensor's dtype and shape against the config first.
  return quant::dequantize_gptq(quant::read_packed_linear(checkpoint, q, prefix, out_features, in_features));
}

LinearWeights load_linear(const io::ShardedCheckpoint &checkpoint, const ModelSpec &spec,
                          const std::string &prefix, std::int64_t out_features,
                          std::int64_t in_features, bool has_bias, QuantizedLinears quantized) {
  LinearWeights w;
  w.out_features = out_features;
  w.in_features = in_features;
  const std::vector<std::int64_t> shape = {out_features, in_features};
  if (!quant::is_quantized_linear(checkpoint, prefix)) {
    w.weight = load_float32(checkpoint, prefix + ".weight", shape);
  } else {
    if (!spec.quantization)
      fail(Status::Unsupported, "tensor " + prefix + ".qweight is GPTQ-packed but config.json has no "
                                "quantization_config with quant_method \"gptq\"");
    if (quantized == QuantizedLinears::Unpack)
      w.gptq = quant::unpack_gptq(
          quant::read_packed_linear(checkpoint, *spec.quantization, prefix, out_features, in_features));
    else
      w.weight = dequantize_checkpoint_linear(checkpoint, *spec.quantization, prefix, out_features, in_features);
  }
  w.bias = load_linear_bias(checkpoint, spec, prefix, out_features, has_bias);
  return w;
}

std::vector<float> load_linear_bias(const io::ShardedCheckpoint &checkpoint, const ModelSpec &spec,
                                    const std::string &prefix, std::int64_t out_features, bool has_bias) {
  const std::vector<std::int64_t> bias_shape = {out_features};
  if (has_bias) return load_float32(checkpoint, prefix + ".bias", bias_shape);
  if (checkpoint.contains(prefix + ".bias")) {
    // AutoGPTQ 0.2-0.7 gave every quantized linear a bias, zeros where the
    // model has none (Llama): those change nothing. Any other value would be
    // a layer the architecture cannot express.
    const std::vector<float> bias = load_float32(checkpoint, prefix + ".bias", bias_shape);
    const auto nonzero = std::find_if(bias.begin(), bias.end(), [](float v) { return v != 0.0f; });
    if (nonzero != bias.end())
      fail(Status::Format, "tensor " + prefix + ".bias is " + std::to_string(*nonzero) + " at element " +
                               std::to_string(nonzero - bias.begin()) + ", but the model" +
                               (spec.model_type.empty() ? "" : " (" + spec.model_type + ")") +
                               " has no bias on this layer as config.json describes it; only an all-zero "
                               "bias (as AutoGPTQ 0.2-0.7 saved) can be ignored");
  }
  return {};
}

}  // namespace gptq::model
