#include "core/pipeline/options_from_config.h"

namespace gptq::quant {

QuantOptions quant_options(const schema::QuantizeConfigT &config) {
  QuantOptions o;
  o.bits = config.bits;
  o.group_size = config.group_size;
  o.sym = config.sym;
  o.desc_act = config.desc_act;
  o.static_groups = config.static_groups;
  o.damp_percent = config.damp_percent;
  o.damp_auto_increment = config.damp_auto_increment;
  o.block_size = config.block_size;
  o.hessian_fp64 = config.hessian_fp64;
  o.positive_zero = !config.sym && config.checkpoint_format == schema::CheckpointFormat::gptq;
  if (config.mse) {
    o.mse.enabled = config.mse->enabled;
    o.mse.norm = config.mse->norm;
    o.mse.grid = config.mse->grid;
    o.mse.max_shrink = config.mse->max_shrink;
  }
  return o;
}

CheckpointFormat checkpoint_format(const schema::QuantizeConfigT &config) {
  return config.checkpoint_format == schema::CheckpointFormat::gptq_v2 ? CheckpointFormat::V2
                                                                       : CheckpointFormat::V1;
}

bool is_module_skipped(const schema::QuantizeConfigT &config, std::string_view name) {
  for (const std::string &entry : config.modules_to_skip) {
    if (entry.empty()) continue;
    if (name == entry) return true;
    if (name.size() > entry.size() && name.ends_with(entry) &&
        name[name.size() - entry.size() - 1] == '.')
      return true;
  }
  return false;
}

}  // namespace gptq::quant
