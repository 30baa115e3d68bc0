// Typed access for C++ callers: configs as the flatc object-API structs
// (schema::QuantizeConfigT, ...), validated exactly like the C API's JSON.
// Sub-tables are always there (non-null unique_ptrs holding their defaults)
// unless the schema marks them gptq_optional, e.g. ModelInfo.quantization,
// which is null for a model that is not quantized.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/codec.h"
#include "core/config/kind_traits.h"

namespace gptq::config {

// JSON text -> object. Empty text means all defaults.
template <class Object>
Object parse_json(std::string_view json) {
  using Table = typename ObjectKind<Object>::Table;
  const std::vector<uint8_t> binary = json_to_binary(ObjectKind<Object>::kind, json);
  std::unique_ptr<Object> object(flatbuffers::GetRoot<Table>(binary.data())->UnPack());
  return std::move(*object);
}

// Binary flatbuffer -> object. Goes through JSON so absent sub-tables come
// back filled in the same way; configs are small.
template <class Object>
Object parse_binary(std::span<const uint8_t> binary) {
  return parse_json<Object>(binary_to_json(ObjectKind<Object>::kind, binary));
}

// Object -> binary flatbuffer, range-checked like any input (a report with a
// NaN loss or a config with bits = 5 is refused, not written).
template <class Object>
std::vector<uint8_t> to_binary(const Object &object) {
  using Table = typename ObjectKind<Object>::Table;
  flatbuffers::FlatBufferBuilder fbb;
  fbb.ForceDefaults(true);  // as json_to_binary: defaults written, so a binary keeps its meaning
  fbb.Finish(Table::Pack(fbb, &object), kFileIdentifier);
  std::vector<uint8_t> out(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  check_binary(ObjectKind<Object>::kind, out);
  return out;
}

// Object -> JSON with every field present.
template <class Object>
std::string to_json(const Object &object) {
  return binary_to_json(ObjectKind<Object>::kind, to_binary(object));
}

inline schema::QuantizeConfigT parse_quantize_config(std::string_view json) {
  return parse_json<schema::QuantizeConfigT>(json);
}
inline schema::CalibrationConfigT parse_calibration_config(std::string_view json) {
  return parse_json<schema::CalibrationConfigT>(json);
}
inline schema::RuntimeConfigT parse_runtime_config(std::string_view json) {
  return parse_json<schema::RuntimeConfigT>(json);
}
inline schema::GenerationConfigT parse_generation_config(std::string_view json) {
  return parse_json<schema::GenerationConfigT>(json);
}
inline schema::QuantizeReportT parse_quantize_report(std::string_view json) {
  return parse_json<schema::QuantizeReportT>(json);
}
inline schema::ModelInfoT parse_model_info(std::string_view json) {
  return parse_json<schema::ModelInfoT>(json);
}
inline schema::EvalConfigT parse_eval_config(std::string_view json) {
  return parse_json<schema::EvalConfigT>(json);
}
inline schema::EvalReportT parse_eval_report(std::string_view json) {
  return parse_json<schema::EvalReportT>(json);
}

}  // namespace gptq::config
