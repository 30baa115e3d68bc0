// The boundary every extern "C" entry point goes through: it runs the body,
// turns any exception into a gptq_status, and records the message for
// gptq_last_error() on this thread. Nothing escapes it.
#pragma once

#include <new>
#include <string>

#include "core/base/error.h"
#include "gptq/gptq.h"

namespace gptq::capi {

// Sets this thread's last error to "<function>: <message>".
void set_last_error(const char *function, const std::string &message) noexcept;

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
  } catch (const std::bad_alloc &) {
    set_last_error(function, "out of host memory");
    return GPTQ_ERR_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    set_last_error(function, std::string("internal error: ") + e.what());
    return GPTQ_ERR_INTERNAL;
  } catch (...) {
    set_last_error(function, "internal error: unknown exception");
    return GPTQ_ERR_INTERNAL;
  }
}

}  // namespace gptq::capi
