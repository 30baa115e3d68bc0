#include "core/config/kind.h"

#include <string>

#include "core/base/error.h"

namespace gptq::config {

std::string_view kind_table_name(Kind kind) {
  switch (kind) {
    case Kind::Quantize: return "QuantizeConfig";
    case Kind::Calibration: return "CalibrationConfig";
    case Kind::Runtime: return "RuntimeConfig";
    case Kind::Generation: return "GenerationConfig";
    case Kind::QuantizeReport: return "QuantizeReport";
    case Kind::ModelInfo: return "ModelInfo";
    case Kind::Eval: return "EvalConfig";
    case Kind::EvalReport: return "EvalReport";
  }
  fail(Status::InvalidArgument,
       "unknown config kind " + std::to_string(static_cast<int>(kind)) + " (allowed: 1..8)");
}

void check_encoding(Encoding encoding) {
  if (encoding != Encoding::Json && encoding != Encoding::Binary)
    fail(Status::InvalidArgument, "unknown config encoding " +
                                      std::to_string(static_cast<int>(encoding)) +
                                      " (allowed: 1 = JSON, 2 = binary)");
}

}  // namespace gptq::config
