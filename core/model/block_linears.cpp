#include "core/model/block_linears.h"

namespace gptq::model {

io::BlockLinears block_linears(const ModelSpec &spec) {
  io::BlockLinears out;
  if (!spec.arch) return out;
  for (const auto &group : spec.arch->sequential_groups)
    out.sequential_groups.emplace_back(group.begin(), group.end());
  for (std::int64_t b = 0; b < spec.num_layers; ++b) out.block_prefixes.push_back(block_prefix(*spec.arch, b));
  return out;
}

}  // namespace gptq::model
