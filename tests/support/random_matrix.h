// Seeded Gaussian matrices for tests: the same numbers on every machine
// (mt19937 and the normal distribution of libstdc++ are deterministic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace gptq::testing {

// rows x cols, row-major, N(0, sd^2).
inline std::vector<float> random_matrix(std::int64_t rows, std::int64_t cols, std::uint32_t seed, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<float> m(static_cast<std::size_t>(rows * cols));
  for (auto &v : m) v = dist(rng);
  return m;
}

}  // namespace gptq::testing
