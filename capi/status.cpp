// gptq_status_name, gptq_last_error: the per-thread error channel.
#include <cstdio>
#include <string>

#include "capi/api_guard.h"

// core's Status mirrors gptq_status value for value.
static_assert(static_cast<int>(gptq::Status::Ok) == GPTQ_OK);
static_assert(static_cast<int>(gptq::Status::InvalidArgument) == GPTQ_ERR_INVALID_ARGUMENT);
static_assert(static_cast<int>(gptq::Status::Io) == GPTQ_ERR_IO);
static_assert(static_cast<int>(gptq::Status::Format) == GPTQ_ERR_FORMAT);
static_assert(static_cast<int>(gptq::Status::Unsupported) == GPTQ_ERR_UNSUPPORTED);
static_assert(static_cast<int>(gptq::Status::OutOfMemory) == GPTQ_ERR_OUT_OF_MEMORY);
static_assert(static_cast<int>(gptq::Status::Device) == GPTQ_ERR_DEVICE);
static_assert(static_cast<int>(gptq::Status::Numerical) == GPTQ_ERR_NUMERICAL);
static_assert(static_cast<int>(gptq::Status::Cancelled) == GPTQ_ERR_CANCELLED);
static_assert(static_cast<int>(gptq::Status::Internal) == GPTQ_ERR_INTERNAL);
static_assert(static_cast<int>(gptq::Status::BufferTooSmall) == GPTQ_ERR_BUFFER_TOO_SMALL);

namespace {
thread_local std::string t_last_error;
// When recording a message ran out of memory, the fixed message said instead,
// written without allocating; empty otherwise.
thread_local char t_fixed_error[128];
}

namespace gptq::capi {

void set_last_error(const char *function, std::string_view message, std::string_view detail) noexcept {
  try {
    std::string text(function);
    text.append(": ").append(message).append(detail);
    t_last_error.swap(text);
    t_fixed_error[0] = '\0';
  } catch (...) {
    // Out of memory while recording an error: a fixed message in static
    // storage, so the caller still learns that the call failed and where.
    t_last_error.clear();
    std::snprintf(t_fixed_error, sizeof t_fixed_error, "%s: out of memory while recording an error", function);
  }
}

}  // namespace gptq::capi

extern "C" {

GPTQ_API const char *gptq_status_name(gptq_status status) {
  switch (status) {
    case GPTQ_OK: return "OK";
    case GPTQ_ERR_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case GPTQ_ERR_IO: return "IO";
    case GPTQ_ERR_FORMAT: return "FORMAT";
    case GPTQ_ERR_UNSUPPORTED: return "UNSUPPORTED";
    case GPTQ_ERR_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
    case GPTQ_ERR_DEVICE: return "DEVICE";
    case GPTQ_ERR_NUMERICAL: return "NUMERICAL";
    case GPTQ_ERR_CANCELLED: return "CANCELLED";
    case GPTQ_ERR_INTERNAL: return "INTERNAL";
    case GPTQ_ERR_BUFFER_TOO_SMALL: return "BUFFER_TOO_SMALL";
    case GPTQ_ERR_REENTRANT: return "REENTRANT";
    case GPTQ_STATUS_MAX_ENUM: break;
  }
  return "UNKNOWN";
}

GPTQ_API const char *gptq_last_error(void) { return t_fixed_error[0] ? t_fixed_error : t_last_error.c_str(); }

GPTQ_API void gptq_clear_error(void) {
  t_last_error.clear();
  t_fixed_error[0] = '\0';
}

}  // extern "C"
