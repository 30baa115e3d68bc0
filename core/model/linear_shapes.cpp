#include "core/model/linear_shapes.h"

#include "core/base/error.h"
#include "core/model/architecture.h"
#include "core/model/expected_tensors.h"

namespace gptq::model {

std::vector<LinearShape> block_linear_shapes(const ModelSpec &spec) {
  const std::vector<ExpectedTensor> tensors = expected_tensors(spec);
  std::vector<LinearShape> shapes;
  for (const auto &group : spec.arch->sequential_groups) {
    for (std::string_view name : group) {
      const std::string weight = block_prefix(*spec.arch, 0) + std::string(name) + ".weight";
      LinearShape s{std::string(name), 0, 0};
      for (const auto &t : tensors)
        if (t.name == weight && t.shape.size() == 2) {
          s.out = t.shape[0];
          s.in = t.shape[1];
        }
      if (s.in <= 0 || s.out <= 0) fail(Status::Internal, "no 2-D weight " + weight + " in the architecture's tensors");
      shapes.push_back(std::move(s));
    }
  }
  return shapes;
}

}  // namespace gptq::model
