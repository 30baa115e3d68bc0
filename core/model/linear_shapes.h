// The shapes of a block's linear sublayers, read from the architecture's
// tensor templates (core/model/expected_tensors.h): every block has the same,
// so block 0's stand for all. What estimates of a block's cost take (the
// progress units of core/pipeline/quantize_work.h, the device memory of
// core/pipeline/calibration_chunks.h) without loading a weight.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/model_config.h"

namespace gptq::model {

struct LinearShape {
  std::string name;  // within the block, as in sequential_groups
  std::int64_t in = 0;
  std::int64_t out = 0;
};

// Every linear of the architecture's sequential groups, in group order.
// Throws Error(Internal) when one has no 2-D weight among the tensors.
std::vector<LinearShape> block_linear_shapes(const ModelSpec &spec);

}  // namespace gptq::model
