// Quantizing every decoder-block linear of a real test model without a
// forward pass (RTN, or GPTQ with a synthetic Hessian from random correlated
// inputs) and handing the layers to a GptqCheckpointWriter; plus what the
// checkpoint must then give back.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/gptq_format/gptq_checkpoint_writer.h"
#include "core/model/architecture.h"
#include "core/model/gptq_linear.h"
#include "core/model/model.h"
#include "core/gptq_format/gptq_packing.h"
#include "core/pipeline/pack_result.h"
#include "core/quant/hessian.h"
#include "core/gptq_format/checkpoint_format.h"
#include "core/gptq_format/modules_to_skip.h"
#include "core/pipeline/options_from_config.h"
#include "core/quant/quantize_matrix.h"
#include "core/tensor/half.h"
#include "tests/support/test_compute.h"

namespace gptq::testing {

enum class Method { Rtn, GptqSynthetic };

// Inputs with a few shared directions and uneven column scales, so H has a
// clear diagonal order (act-order then really permutes).
inline std::vector<float> synthetic_hessian(std::int64_t k, std::uint32_t seed) {
  const std::int64_t n = 192;
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> dirs(static_cast<std::size_t>(4 * k));
  for (auto &v : dirs) v = dist(rng);
  std::vector<float> x(static_cast<std::size_t>(n * k));
  for (std::int64_t r = 0; r < n; ++r) {
    float a[4] = {dist(rng), dist(rng), dist(rng), dist(rng)};
    for (std::int64_t c = 0; c < k; ++c) {
      float v = dist(rng);
      for (int d = 0; d < 4; ++d) v += a[d] * dirs[static_cast<std::size_t>(d * k + c)];
      x[static_cast<std::size_t>(r * k + c)] = v * (1.0f + static_cast<float>(c % 7));
    }
  }
  quant::HessianAccumulator acc(k, false);
  acc.add_batch(test_compute(), x.data(), n);
  return acc.hessian(test_compute());
}

// The block linears of the model, in layer and true-sequential order.
inline std::vector<std::string> block_linears(const model::Model &m) {
  std::vector<std::string> out;
  const auto &spec = m.spec();
  for (std::int64_t b = 0; b < spec.num_layers; ++b)
    for (const auto &group : spec.arch->sequential_groups)
      for (std::string_view sub : group) out.push_back(model::block_prefix(*spec.arch, b) + std::string(sub));
  return out;
}

// Quantizes each block linear not in modules_to_skip, adds it to `writer`
// (packed in `pack_format`, which may differ from the config's to exercise
// the conversion), and returns the results by prefix (dequant dropped to
// save memory).
inline std::map<std::string, quant::QuantResult> quantize_into(
    const model::Model &m, const schema::QuantizeConfigT &config, Method method,
    io::GptqCheckpointWriter &writer, quant::CheckpointFormat pack_format) {
  std::map<std::string, quant::QuantResult> results;
  const quant::QuantOptions opt = quant::quant_options(config);
  std::uint32_t seed = 1;
  for (const std::string &prefix : block_linears(m)) {
    if (quant::is_module_skipped(config, prefix)) continue;
    const model::LinearWeights w = model::load_linear(m, prefix);
    quant::QuantResult r;
    if (method == Method::Rtn) {
      r = quant::rtn_matrix(test_compute(), w.weight.data(), w.out_features, w.in_features, opt, prefix);
    } else {
      const auto h = synthetic_hessian(w.in_features, seed++);
      r = quant::quantize_matrix(test_compute(), w.weight.data(), w.out_features, w.in_features, h.data(), opt,
                                 prefix);
    }
    writer.add_quantized(prefix, quant::pack_gptq(r, pack_format));
    r.dequant.clear();
    r.dequant.shrink_to_fit();
    results.emplace(prefix, std::move(r));
  }
  return results;
}

// What the checkpoint must dequantize to: the result's codes and zeros with
// its scales rounded to fp16, as stored.
inline std::vector<float> expected_dequant(const quant::QuantResult &r) {
  std::vector<float> w(static_cast<std::size_t>(r.rows * r.cols));
  for (std::int64_t n = 0; n < r.rows; ++n)
    for (std::int64_t k = 0; k < r.cols; ++k) {
      const std::int64_t g = r.g_idx[static_cast<std::size_t>(k)];
      const auto gi = static_cast<std::size_t>(g * r.rows + n);
      const float s = half_to_float(float_to_half(r.scales[gi]));
      w[static_cast<std::size_t>(n * r.cols + k)] =
          s * (static_cast<float>(r.codes[static_cast<std::size_t>(n * r.cols + k)]) -
               static_cast<float>(r.zeros[gi]));
    }
  return w;
}

}  // namespace gptq::testing
