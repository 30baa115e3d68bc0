#include "core/model/context_length.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/base/error.h"

namespace gptq::model {
namespace {

bool scaled(const ModelSpec &spec) {
  return spec.positions == PositionKind::Rope &&
         (spec.rope.type == RopeType::Linear || spec.rope.type == RopeType::Dynamic) && spec.rope.factor > 1.0;
}

}  // namespace

std::int64_t context_length(const ModelSpec &spec) {
  if (!scaled(spec)) return spec.max_position_embeddings;
  const double n = std::floor(static_cast<double>(spec.max_position_embeddings) * spec.rope.factor);
  constexpr double kMax = static_cast<double>(std::numeric_limits<std::int32_t>::max());
  return static_cast<std::int64_t>(std::min(n, kMax));
}

std::string context_text(const ModelSpec &spec) {
  std::string s = std::to_string(context_length(spec)) + " positions (max_position_embeddings";
  if (scaled(spec)) {
    char factor[32];
    std::snprintf(factor, sizeof factor, "%g", spec.rope.factor);
    s += " " + std::to_string(spec.max_position_embeddings) + " x rope_scaling factor " + factor;
  }
  return s + ")";
}

void require_within_context(const ModelSpec &spec, std::int64_t end, std::int64_t b, std::int64_t batch) {
  if (end > context_length(spec))
    fail(Status::InvalidArgument, "positions up to " + std::to_string(end) +
                                      (batch > 1 ? " (sequence " + std::to_string(b) + ")" : std::string()) +
                                      " exceed the model's context of " + context_text(spec));
}

}  // namespace gptq::model
