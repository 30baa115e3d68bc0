#include "core/model/linear_weights.h"

#include <cstring>
#include <string>

#include "core/error.h"
#include "core/model/float_tensor.h"
#include "core/quant/gptq_packing.h"

namespace gptq::model {
namespace {

// The packed tensor `name`, required to have `dtype` and a 1-D or 2-D shape;
// its elements copied out (the mapping may be unaligned).
template <class T>
std::vector<T> packed_tensor(const io::TensorView &t, DType dtype, std::size_t rank) {
  if (t.dtype != dtype)
    fail(dtype == DType::F16 ? Status::Unsupported : Status::Format,
         "tensor " + t.name + " has dtype " + std::string(dtype_name(t.dtype)) + ", expected " +
             std::string(dtype_name(dtype)) + " in a GPTQ checkpoint");
  if (t.shape.size() != rank)
    fail(Status::Format, "tensor " + t.name + " has shape " + shape_text(t.shape) + ", expected " +
                             std::to_string(rank) + " dimensions in a GPTQ checkpoint");
  std::vector<T> out(static_cast<std::size_t>(t.numel()));
  if (!out.empty()) std::memcpy(out.data(), t.data.data(), out.size() * sizeof(T));
  return out;
}

}  // namespace

std::vector<float> dequantize_checkpoint_linear(const io::ShardedCheckpoint &checkpoint,
                                                const GptqQuantizationConfig &q,
                                                const std::string &prefix, std::int64_t out_features,
                                                std::int64_t in_features) {
  const io::TensorView qweight = checkpoint.tensor(prefix + ".qweight");
  const io::TensorView qzeros = checkpoint.tensor(prefix + ".qzeros");
  const io::TensorView scales = checkpoint.tensor(prefix + ".scales");

  quant::PackedGptq p;
  p.bits = q.bits;
  p.format = q.checkpoint_format == "gptq_v2" ? quant::CheckpointFormat::V2 : quant::CheckpointFormat::V1;
  p.qweight = packed_tensor<std::int32_t>(qweight, DType::I32, 2);
  p.qzeros = packed_tensor<std::int32_t>(qzeros, DType::I32, 2);
  p.scales = packed_tensor<std::uint16_t>(scales, DType::F16, 2);
  const std::vector<std::int64_t> want_qweight = {in_features * q.bits / 32, out_features};
  if (qweight.shape != want_qweight || in_features * q.bits % 32 != 0)
    fail(Status::Format, "tensor " + qweight.name + " has shape " + shape_text(qweight.shape) +
                             ", expected " + shape_text(want_qweight) + " for a " +
                             std::to_string(q.bits) + "-bit linear of shape " +
                             shape_text(std::vector<std::int64_t>{out_features, in_features}));
  p.out_features = out_features;
  p.in_features = in_features;
  p.groups = scales.shape[0];
  if (scales.shape[1] != out_features)
    fail(Status::Format, "tensor " + scales.name + " has shape " + shape_text(scales.shape) +
                             ", expected [groups, " + std::to_string(out_features) + "]");
  if (auto g_idx = checkpoint.find(prefix + ".g_idx")) {
    p.g_idx = packed_tensor<std::int32_t>(*g_idx, DType::I32, 1);
  } else {
    // Old checkpoints without g_idx: groups are contiguous runs of group_size.
    p.g_idx.resize(static_cast<std::size_t>(in_features));
    for (std::int64_t k = 0; k < in_features; ++k)
      p.g_idx[static_cast<std::size_t>(k)] =
          q.group_size > 0 ? static_cast<std::int32_t>(k / q.group_size) : 0;
  }
  try {
    return quant::dequantize_gptq(p);
  } catch (const Error &e) {
    // The packing code speaks of arguments; here they are a file's content.
    if (e.status() != Status::InvalidArgument) throw;
    fail(Status::Format, "GPTQ linear " + prefix + " in " + checkpoint.shard_of(qweight.name) + ": " + e.what());
  }
}

LinearWeights load_linear(const io::ShardedCheckpoint &checkpoint, const ModelSpec &spec,
                          const std::string &prefix, std::int64_t out_features,
                          std::int64_t in_features, bool has_bias) {
  LinearWeights w;
  w.out_features = out_features;
  w.in_features = in_features;
  const std::vector<std::int64_t> shape = {out_features, in_features};
  if (checkpoint.contains(prefix + ".weight") || !checkpoint.contains(prefix + ".qweight")) {
    w.weight = load_float32(checkpoint, prefix + ".weight", shape);
  } else {
    if (!spec.quantization)
      fail(Status::Unsupported, "tensor " + prefix + ".qweight is GPTQ-packed but config.json has no "
                                "quantization_config with quant_method \"gptq\"");
    w.weight = dequantize_checkpoint_linear(checkpoint, *spec.quantization, prefix, out_features, in_features);
  }
  if (has_bias) {
    const std::vector<std::int64_t> bias_shape = {out_features};
    w.bias = load_float32(checkpoint, prefix + ".bias", bias_shape);
  }
  return w;
}

}  // namespace gptq::model
