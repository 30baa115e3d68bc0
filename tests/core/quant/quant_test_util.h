// Helpers shared by the core/quant tests: golden files, seeded random
// matrices and Hessians, the layer output error, and a tiny safetensors reader
// for the shared test models (the io layer is not a dependency of quant).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/quant/hessian.h"
#include "core/tensor/half.h"
#include "tests/support/random_matrix.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"

namespace gptq::quant::testing {

inline std::vector<char> read_bytes(const std::filesystem::path &p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + p.string());
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

template <class T>
std::vector<T> read_array(const std::filesystem::path &p) {
  const auto bytes = read_bytes(p);
  std::vector<T> v(bytes.size() / sizeof(T));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
  return v;
}

inline nlohmann::json read_json(const std::filesystem::path &p) {
  std::ifstream f(p);
  if (!f) throw std::runtime_error("cannot open " + p.string());
  return nlohmann::json::parse(f);
}

inline std::filesystem::path golden_dir(const std::string &sub) {
  return ::gptq::testing::source_dir() / "tests" / "data" / "quant" / sub;
}

using ::gptq::testing::random_matrix;

// Activations: Gaussian plus a few shared directions and uneven column scales
// (what makes real layer inputs correlated), X [n][k].
inline std::vector<float> correlated_activations(std::int64_t n, std::int64_t k, std::uint32_t seed, int dirs = 6) {
  std::vector<float> x = random_matrix(n, k, seed);
  const std::vector<float> b = random_matrix(dirs, k, seed + 1);
  const std::vector<float> c = random_matrix(n, dirs, seed + 2);
  for (std::int64_t t = 0; t < n; ++t)
    for (std::int64_t j = 0; j < k; ++j) {
      float s = 0;
      for (int d = 0; d < dirs; ++d) s += c[static_cast<std::size_t>(t * dirs + d)] * b[static_cast<std::size_t>(d * k + j)];
      x[static_cast<std::size_t>(t * k + j)] = (x[static_cast<std::size_t>(t * k + j)] + 2.0f * s) *
                                               (0.2f + 2.8f * static_cast<float>((j * 37) % k) / static_cast<float>(k));
    }
  return x;
}

inline std::vector<float> hessian_of(const std::vector<float> &x, std::int64_t k) {
  HessianAccumulator acc(k, false);
  acc.add_batch(test_compute(), x.data(), static_cast<std::int64_t>(x.size()) / k);
  return acc.hessian(test_compute());
}

// tr(D H D^T) with D = W - Q: proportional to the layer output error |WX - QX|^2.
inline double output_error(const std::vector<float> &w, const std::vector<float> &q, const std::vector<float> &h,
                           std::int64_t rows, std::int64_t cols) {
  double total = 0;
  std::vector<double> d(static_cast<std::size_t>(cols));
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < cols; ++j)
      d[static_cast<std::size_t>(j)] = static_cast<double>(w[static_cast<std::size_t>(r * cols + j)]) -
                                       q[static_cast<std::size_t>(r * cols + j)];
    for (std::int64_t i = 0; i < cols; ++i) {
      double s = 0;
      for (std::int64_t j = 0; j < cols; ++j) s += h[static_cast<std::size_t>(i * cols + j)] * d[static_cast<std::size_t>(j)];
      total += d[static_cast<std::size_t>(i)] * s;
    }
  }
  return total;
}

// One F16/F32 tensor of a (possibly sharded) safetensors model, as float.
inline std::vector<float> load_model_tensor(const std::filesystem::path &dir, const std::string &name,
                                            std::int64_t &rows, std::int64_t &cols) {
  std::filesystem::path file = dir / "model.safetensors";
  if (std::filesystem::exists(dir / "model.safetensors.index.json"))
    file = dir / read_json(dir / "model.safetensors.index.json")["weight_map"][name].get<std::string>();
  const auto bytes = read_bytes(file);
  std::uint64_t hlen = 0;
  std::memcpy(&hlen, bytes.data(), 8);
  const auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(hlen));
  const auto &t = header.at(name);
  rows = t["shape"][0].get<std::int64_t>();
  cols = t["shape"][1].get<std::int64_t>();
  const std::size_t begin = 8 + hlen + t["data_offsets"][0].get<std::size_t>();
  std::vector<float> out(static_cast<std::size_t>(rows * cols));
  const std::string dtype = t["dtype"];
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (dtype == "F16") {
      std::uint16_t h;
      std::memcpy(&h, bytes.data() + begin + 2 * i, 2);
      out[i] = half_to_float(h);
    } else if (dtype == "F32") {
      std::memcpy(&out[i], bytes.data() + begin + 4 * i, 4);
    } else {
      throw std::runtime_error("unsupported dtype " + dtype);
    }
  }
  return out;
}

}  // namespace gptq::quant::testing
