// The linear sublayers of a model's decoder blocks, as plain names: what the
// checkpoint writer needs to know of the architecture (which linears must be
// quantized or skipped, and how quantization_config groups them), handed to
// it by the room above (core/model/block_linears.h), so this room needs
// nothing from core/model.
#pragma once

#include <string>
#include <vector>

namespace gptq::io {

struct BlockLinears {
  // Sublayer names within a block ("self_attn.q_proj"), in the
  // architecture's true-sequential groups.
  std::vector<std::vector<std::string>> sequential_groups;
  // Each block's name prefix ("model.layers.0."), block by block.
  std::vector<std::string> block_prefixes;
};

}  // namespace gptq::io
