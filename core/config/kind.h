// Which schema table a configuration or report is, and how it is encoded.
// The C API passes these as integers, so every value is checked on the way in
// (kind_table_name throws for a value outside the enum).
#pragma once

#include <string_view>

namespace gptq::config {

// The file identifier of every binary config (schema/gptq.fbs: file_identifier).
inline constexpr const char *kFileIdentifier = "GPTQ";

// One per root table of schema/gptq.fbs that crosses the C API. The numbers
// are part of the ABI (the C API's gptq_config_kind mirrors them); add new
// kinds at the end.
enum class Kind : int {
  Quantize = 1,        // QuantizeConfig
  Calibration = 2,     // CalibrationConfig
  Runtime = 3,         // RuntimeConfig
  Generation = 4,      // GenerationConfig
  QuantizeReport = 5,  // QuantizeReport
  ModelInfo = 6,       // ModelInfo
  Eval = 7,            // EvalConfig
  EvalReport = 8,      // EvalReport
};

inline constexpr Kind kAllKinds[] = {Kind::Quantize,   Kind::Calibration,    Kind::Runtime,
                                     Kind::Generation, Kind::QuantizeReport, Kind::ModelInfo,
                                     Kind::Eval,       Kind::EvalReport};

// JSON text (UTF-8, no trailing NUL) or a binary flatbuffer with file
// identifier "GPTQ" whose root is the kind's table.
enum class Encoding : int {
  Json = 1,
  Binary = 2,
};

// The schema table of a kind, e.g. "QuantizeConfig". Throws InvalidArgument for
// a value that is not a Kind.
std::string_view kind_table_name(Kind kind);

// Throws InvalidArgument for a value that is not an Encoding.
void check_encoding(Encoding encoding);

}  // namespace gptq::config
