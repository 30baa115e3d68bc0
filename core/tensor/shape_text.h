// Shapes and element positions as messages write them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace gptq {

// "[384, 1024]".
std::string shape_text(std::span<const std::int64_t> shape);

// "element 1234 [3, 82]" of a tensor of this shape ("element 1234" for one
// dimension or none).
std::string element_text(std::size_t index, std::span<const std::int64_t> shape);

}  // namespace gptq
