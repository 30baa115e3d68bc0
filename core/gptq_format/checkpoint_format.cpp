#include "core/gptq_format/checkpoint_format.h"

namespace gptq::quant {

std::string_view checkpoint_format_name(CheckpointFormat format) {
  return format == CheckpointFormat::V2 ? "gptq_v2" : "gptq";
}

std::optional<CheckpointFormat> parse_checkpoint_format(std::string_view name) {
  if (name == "gptq") return CheckpointFormat::V1;
  if (name == "gptq_v2") return CheckpointFormat::V2;
  return std::nullopt;
}

CheckpointFormat checkpoint_format(schema::CheckpointFormat format) {
  return format == schema::CheckpointFormat::gptq_v2 ? CheckpointFormat::V2 : CheckpointFormat::V1;
}

schema::CheckpointFormat schema_checkpoint_format(CheckpointFormat format) {
  return format == CheckpointFormat::V2 ? schema::CheckpointFormat::gptq_v2 : schema::CheckpointFormat::gptq;
}

CheckpointFormat checkpoint_format(const schema::QuantizeConfigT &config) {
  return checkpoint_format(config.checkpoint_format);
}

}  // namespace gptq::quant
