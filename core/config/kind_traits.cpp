#include "core/config/kind_traits.h"

#include <string>

#include "core/base/error.h"

namespace gptq::config {
namespace {

template <class Table>
bool verify(std::span<const uint8_t> buffer) {
  flatbuffers::Verifier verifier(buffer.data(), buffer.size());
  return verifier.VerifyBuffer<Table>(kFileIdentifier);
}

}  // namespace

bool verify_buffer(Kind kind, std::span<const uint8_t> buffer) {
  // The Verifier asserts (rather than fails) on a size past its maximum.
  if (buffer.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) return false;
  switch (kind) {
    case Kind::Quantize: return verify<schema::QuantizeConfig>(buffer);
    case Kind::Calibration: return verify<schema::CalibrationConfig>(buffer);
    case Kind::Runtime: return verify<schema::RuntimeConfig>(buffer);
    case Kind::Generation: return verify<schema::GenerationConfig>(buffer);
    case Kind::QuantizeReport: return verify<schema::QuantizeReport>(buffer);
    case Kind::ModelInfo: return verify<schema::ModelInfo>(buffer);
    case Kind::Eval: return verify<schema::EvalConfig>(buffer);
    case Kind::EvalReport: return verify<schema::EvalReport>(buffer);
  }
  fail(Status::InvalidArgument, "unknown config kind " + std::to_string(static_cast<int>(kind)));
}

}  // namespace gptq::config
