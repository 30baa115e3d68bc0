#include "core/model/checkpoint_preflight.h"

#include <string>
#include <string_view>

#include "core/base/error.h"
#include "core/model/expected_tensors.h"
#include "core/model/float_tensor.h"
#include "core/model/gptq_linear.h"
#include "core/model/model.h"

namespace gptq::model {
namespace {

constexpr std::string_view kWeight = ".weight";

bool ends_with(const std::string &s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

void preflight_float_checkpoint(const Model &model) {
  const io::ShardedCheckpoint &weights = model.weights();
  const ModelSpec &spec = model.spec();
  const std::string dir = model.directory().string();
  weights.open_all_shards();
  for (const ExpectedTensor &t : expected_tensors(spec)) {
    if (ends_with(t.name, kWeight)) {
      const std::string prefix = t.name.substr(0, t.name.size() - kWeight.size());
      if (is_quantized_linear(weights, prefix))
        fail(Status::Format, dir + ": tensor '" + prefix + ".qweight' is GPTQ-packed, but config.json has no "
                                   "quantization_config; a float model is expected here");
    }
    const auto view = weights.find(t.name);
    if (!view)
      fail(Status::Format, dir + ": tensor '" + t.name + "' is missing; config.json (" + spec.model_type + ", " +
                               std::to_string(spec.num_layers) + " layers) implies it with shape " +
                               shape_text(t.shape));
    const std::string where = "tensor '" + t.name + "' in " + weights.shard_of(t.name);
    if (view->dtype != DType::F16 && view->dtype != DType::BF16 && view->dtype != DType::F32)
      fail(Status::Format, dir + ": " + where + " has dtype " + std::string(dtype_name(view->dtype)) +
                               "; float weights must be F16, BF16 or F32");
    if (view->shape != t.shape)
      fail(Status::Format, dir + ": " + where + " has shape " + shape_text(view->shape) + ", expected " +
                               shape_text(t.shape) + " from config.json");
  }
}

}  // namespace gptq::model
