#include "core/pipeline/pack_result.h"

#include <string>

#include "core/base/error.h"

namespace gptq::quant {

PackedGptq pack_gptq(const QuantResult &r, CheckpointFormat format) {
  const auto at = [](std::int64_t i) { return static_cast<std::size_t>(i); };
  if (r.codes.size() != at(r.rows * r.cols) || r.scales.size() != at(r.groups * r.rows) ||
      r.zeros.size() != r.scales.size() || r.g_idx.size() != at(r.cols))
    fail(Status::InvalidArgument, "GPTQ packing: QuantResult arrays do not match rows=" + std::to_string(r.rows) +
                                      " cols=" + std::to_string(r.cols) + " groups=" + std::to_string(r.groups));
  return pack_gptq(r.codes.data(), r.scales.data(), r.zeros.data(), r.g_idx.data(), r.rows, r.cols, r.groups,
                   r.bits, format);
}

}  // namespace gptq::quant
