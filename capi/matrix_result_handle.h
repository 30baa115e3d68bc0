// What a gptq_matrix_result handle is: the solver's QuantResult and its
// packed checkpoint tensors, immutable once made, so the arrays the
// accessors hand out stay valid until the handle is destroyed.
#pragma once

#include <optional>
#include <string>

#include "core/base/error.h"
#include "core/pipeline/pack_result.h"
#include "core/quant/quant_result.h"
#include "gptq/gptq.h"

struct gptq_matrix_result {
  gptq::quant::QuantResult result;
  // Empty when the shape cannot be packed; then `pack_error` says why and the
  // packed accessors fail with `pack_status`.
  std::optional<gptq::quant::PackedGptq> packed;
  gptq::Status pack_status = gptq::Status::Ok;
  std::string pack_error;
};
