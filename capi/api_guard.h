// The boundary every extern "C" entry point goes through: it runs the body,
// turns any exception into a gptq_status, and records the message for
// gptq_last_error() on this thread. Nothing escapes it.
#pragma once

#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/base/error.h"
#include "gptq/gptq.h"

namespace gptq::capi {

// Sets this thread's last error to "<function>: <message><detail>"; when that
// runs out of memory, to "<function>: out of memory while recording an error".
// Views, so that a caller (the handlers below, often handling an allocation
// failure) builds no string of its own that could throw.
void set_last_error(const char *function, std::string_view message, std::string_view detail = {}) noexcept;

// GPTQ_ERR_REENTRANT: a call from inside a callback on the context of the call
// that runs it (capi/call_scope.h). The C API's own status: core never raises it.
class ReentrantCall : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws Error(InvalidArgument) naming the argument when `p` is NULL.
inline void require_arg(const void *p, const char *name) {
  if (!p) fail(Status::InvalidArgument, std::string("argument '") + name + "' is NULL");
}

template <class Body>
gptq_status guard(const char *function, Body &&body) noexcept {
  try {
    body();
    return GPTQ_OK;
  } catch (const Error &e) {
    set_last_error(function, e.what());
    return static_cast<gptq_status>(e.status());
  } catch (const ReentrantCall &e) {
    set_last_error(function, e.what());
    return GPTQ_ERR_REENTRANT;
  } catch (const std::bad_alloc &) {
    set_last_error(function, "out of host memory");
    return GPTQ_ERR_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    set_last_error(function, "internal error: ", e.what());
    return GPTQ_ERR_INTERNAL;
  } catch (...) {
    set_last_error(function, "internal error: unknown exception");
    return GPTQ_ERR_INTERNAL;
  }
}

}  // namespace gptq::capi
