#include "core/pipeline/options_from_config.h"

#include "core/gptq_format/checkpoint_format.h"

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
  o.positive_zero = !config.sym && checkpoint_format(config) == CheckpointFormat::V1;
  if (config.mse) {
    o.mse.enabled = config.mse->enabled;
    o.mse.norm = config.mse->norm;
    o.mse.grid = config.mse->grid;
    o.mse.max_shrink = config.mse->max_shrink;
  }
  return o;
}

}  // namespace gptq::quant
