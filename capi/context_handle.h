// What a gptq_context handle is: the core Runtime plus the strings the C API
// hands out (owned by the handle, valid until the next call on it). Counted
// (capi/handle_ref.h): its models and sessions keep it alive.
#pragma once

#include <string>

#include "capi/handle_ref.h"
#include "core/backend/runtime.h"
#include "gptq/gptq.h"

struct gptq_context : gptq::capi::RefCounted {
  explicit gptq_context(const gptq::schema::RuntimeConfigT &config) : runtime(config) {}

  // Mutable: the getters take a const handle (they do not change what the
  // context is), yet own the strings they return.
  mutable gptq::Runtime runtime;
  mutable std::string backend_name;
  mutable std::string device_name;
  mutable std::string runtime_json;
  // The last report gptq_quantize_model returned.
  std::string report_json;
  // The last report gptq_evaluate returned.
  std::string eval_report_json;
};
