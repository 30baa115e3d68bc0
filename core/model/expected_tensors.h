// The tensors a float checkpoint of a given ModelSpec holds, with their shapes,
// derived from the architecture's tensor templates. Used to check a checkpoint
// before loading it, and by tests against the real models.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/model_config.h"

namespace gptq::model {

struct ExpectedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
};

// Global tensors first, then each block's, in template order.
std::vector<ExpectedTensor> expected_tensors(const ModelSpec &spec);

// The value of a symbolic dimension for this model.
std::int64_t resolve_dim(const ModelSpec &spec, Dim dim);

// Whether a tensor with this presence rule exists for this model.
bool is_present(const ModelSpec &spec, Presence presence);

}  // namespace gptq::model
