// Matrix: an owning, row-major fp32 matrix — the activations of the CPU
// forward pass ([tokens, features]) and the weights it multiplies by. Plain
// data on purpose: callers (the calibration pipeline) read and replace rows
// and whole buffers directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor/page_allocator.h"

namespace gptq {

struct Matrix {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  // rows * cols, row i at data[i * cols]. Large ones are mappings of their own
  // (core/tensor/page_allocator.h: peak memory is what is live).
  std::vector<float, PageAllocator<float>> data;

  Matrix() = default;
  Matrix(std::int64_t r, std::int64_t c)
      : rows(r), cols(c), data(static_cast<std::size_t>(r * c), 0.0f) {}

  float *row(std::int64_t i) { return data.data() + i * cols; }
  const float *row(std::int64_t i) const { return data.data() + i * cols; }
  bool empty() const { return data.empty(); }
};

}  // namespace gptq
