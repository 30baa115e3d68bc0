// Kind <-> the flatc-generated types of its table (schema/gptq_generated.h),
// for the parts of the codec that use generated code: the Verifier and the
// typed object-API access in typed.h.
#pragma once

#include <cstdint>
#include <span>

#include "core/config/kind.h"
#include "schema/gptq_generated.h"

namespace gptq::config {

// ObjectKind<schema::QuantizeConfigT>::kind == Kind::Quantize, ::Table is the
// generated table type.
template <class Object>
struct ObjectKind;

#define GPTQ_CONFIG_KIND(KIND, TABLE)        \
  template <>                                \
  struct ObjectKind<schema::TABLE##T> {      \
    static constexpr Kind kind = Kind::KIND; \
    using Table = schema::TABLE;             \
  };
GPTQ_CONFIG_KIND(Quantize, QuantizeConfig)
GPTQ_CONFIG_KIND(Calibration, CalibrationConfig)
GPTQ_CONFIG_KIND(Runtime, RuntimeConfig)
GPTQ_CONFIG_KIND(Generation, GenerationConfig)
GPTQ_CONFIG_KIND(QuantizeReport, QuantizeReport)
GPTQ_CONFIG_KIND(ModelInfo, ModelInfo)
GPTQ_CONFIG_KIND(Eval, EvalConfig)
GPTQ_CONFIG_KIND(EvalReport, EvalReport)
#undef GPTQ_CONFIG_KIND

// The flatbuffers Verifier for the kind's root table with file identifier
// "GPTQ". False for a buffer that does not verify, including one of 2 GiB or
// more (flatbuffers' limit). Throws InvalidArgument for an unknown kind.
bool verify_buffer(Kind kind, std::span<const uint8_t> buffer);

}  // namespace gptq::config
