// gptq_config_convert, gptq_config_schema: configurations across the ABI.
#include <span>
#include <string>

#include "capi/api_guard.h"
#include "capi/output_buffer.h"
#include "core/config/codec.h"
#include "schema/schema_text.h"

using gptq::capi::guard;
using gptq::capi::require_arg;

namespace {

gptq::config::Kind to_kind(gptq_config_kind kind) {
  switch (kind) {
    case GPTQ_CONFIG_QUANTIZE: return gptq::config::Kind::Quantize;
    case GPTQ_CONFIG_CALIBRATION: return gptq::config::Kind::Calibration;
    case GPTQ_CONFIG_RUNTIME: return gptq::config::Kind::Runtime;
    case GPTQ_CONFIG_GENERATION: return gptq::config::Kind::Generation;
    case GPTQ_CONFIG_QUANTIZE_REPORT: return gptq::config::Kind::QuantizeReport;
    case GPTQ_CONFIG_MODEL_INFO: return gptq::config::Kind::ModelInfo;
    case GPTQ_CONFIG_EVAL: return gptq::config::Kind::Eval;
    case GPTQ_CONFIG_EVAL_REPORT: return gptq::config::Kind::EvalReport;
    case GPTQ_CONFIG_KIND_MAX_ENUM: break;
  }
  gptq::fail(gptq::Status::InvalidArgument,
             "argument 'kind' is " + std::to_string(static_cast<int>(kind)) + ", not a gptq_config_kind");
}

gptq::config::Encoding to_encoding(gptq_config_encoding e, const char *name) {
  switch (e) {
    case GPTQ_ENCODING_JSON: return gptq::config::Encoding::Json;
    case GPTQ_ENCODING_BINARY: return gptq::config::Encoding::Binary;
    case GPTQ_ENCODING_MAX_ENUM: break;
  }
  gptq::fail(gptq::Status::InvalidArgument, std::string("argument '") + name + "' is " +
                                                std::to_string(static_cast<int>(e)) +
                                                ", not a gptq_config_encoding");
}

}  // namespace

extern "C" {

GPTQ_API gptq_status gptq_config_convert(gptq_config_kind kind, const void *in, size_t in_size,
                                         gptq_config_encoding in_encoding,
                                         gptq_config_encoding out_encoding, void *out,
                                         size_t out_cap, size_t *out_size) {
  return guard(__func__, [&] {
    if (in_size > 0) require_arg(in, "in");
    if (out_cap > 0) require_arg(out, "out");
    require_arg(out_size, "out_size");
    auto k = to_kind(kind);
    auto ie = to_encoding(in_encoding, "in_encoding");
    auto oe = to_encoding(out_encoding, "out_encoding");
    auto bytes = gptq::config::convert(
        k, std::span<const uint8_t>(static_cast<const uint8_t *>(in), in_size), ie, oe);
    gptq::capi::write_output(bytes.data(), bytes.size(), oe == gptq::config::Encoding::Json, out,
                             out_cap, out_size);
  });
}

GPTQ_API const char *gptq_config_schema(void) { return gptq::schema::schema_text(); }

}  // extern "C"
