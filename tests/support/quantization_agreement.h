// How far two GPTQ runs of one model agree, when they are not asked to be
// bit-identical (sums taken in another order): the share of equal integer
// codes over every quantized linear of their checkpoints, and the largest
// relative difference of a layer's loss in their reports.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "core/base/error.h"
#include "core/model/block_weights.h"
#include "core/model/linear_shapes.h"
#include "core/model/model.h"
#include "schema/gptq_generated.h"

namespace gptq::testing {

// Equal codes / all codes of the block linears of checkpoints a and b (of
// one source model). Throws when a linear is missing or not quantized in
// either, or their shapes differ.
inline double equal_code_share(const std::filesystem::path &a, const std::filesystem::path &b) {
  const auto ma = model::Model::open(a), mb = model::Model::open(b);
  const model::ModelSpec &spec = ma->spec();
  std::uint64_t equal = 0, codes = 0;
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    const model::BlockWeights wa =
        model::load_block_weights(spec, ma->weights(), layer, model::QuantizedLinears::Unpack);
    const model::BlockWeights wb =
        model::load_block_weights(mb->spec(), mb->weights(), layer, model::QuantizedLinears::Unpack);
    for (const model::LinearShape &s : model::block_linear_shapes(spec)) {
      const auto &ca = wa.linear(s.name).gptq.codes, &cb = wb.linear(s.name).gptq.codes;
      if (ca.size() != static_cast<std::size_t>(s.in * s.out) || cb.size() != ca.size())
        fail(Status::Internal, "layer " + std::to_string(layer) + " " + s.name + ": not quantized alike in both");
      for (std::size_t i = 0; i < ca.size(); ++i) equal += ca[i] == cb[i] ? 1 : 0;
      codes += ca.size();
    }
  }
  return static_cast<double>(equal) / static_cast<double>(codes);
}

// max over layers of |loss_a - loss_b| / |loss_b|. Throws unless both
// reports name the same layers.
inline double worst_relative_loss_difference(const schema::QuantizeReportT &a, const schema::QuantizeReportT &b) {
  std::map<std::string, double> loss_b;
  for (const auto &l : b.layers) loss_b[l->name] = l->loss;
  if (a.layers.size() != loss_b.size()) fail(Status::Internal, "the reports have different layers");
  double worst = 0;
  for (const auto &l : a.layers) {
    const auto it = loss_b.find(l->name);
    if (it == loss_b.end()) fail(Status::Internal, l->name + " is in one report only");
    worst = std::max(worst, std::abs(l->loss - it->second) / std::max(std::abs(it->second), 1e-12));
  }
  return worst;
}

}  // namespace gptq::testing
