// Field paths in messages: "mse.grid", "layers[3].loss". The root table is
// named separately ("invalid QuantizeReport: layers[3].loss: ...").
#pragma once

#include <cstddef>
#include <string>

namespace gptq::config {

inline std::string field_path(const std::string &parent, const std::string &field) {
  return parent.empty() ? field : parent + "." + field;
}

inline std::string element_path(const std::string &vector, size_t index) {
  return vector + "[" + std::to_string(index) + "]";
}

}  // namespace gptq::config
