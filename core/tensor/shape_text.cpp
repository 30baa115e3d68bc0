#include "core/tensor/shape_text.h"

#include <vector>

namespace gptq {

std::string shape_text(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string element_text(std::size_t index, std::span<const std::int64_t> shape) {
  std::string s = "element " + std::to_string(index);
  if (shape.size() < 2) return s;
  std::vector<std::int64_t> at(shape.size());
  auto rest = static_cast<std::int64_t>(index);
  for (std::size_t d = shape.size(); d-- > 0;) {
    at[d] = shape[d] > 0 ? rest % shape[d] : 0;
    rest = shape[d] > 0 ? rest / shape[d] : 0;
  }
  return s + " " + shape_text(at);
}

}  // namespace gptq
