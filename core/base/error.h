// The one error type of the engine. Core code reports failure by throwing
// gptq::Error; the C API (capi/) catches it at the boundary and turns it into a
// gptq_status plus the thread-local message. Messages say what and where:
// file, tensor or field, and the value that was wrong.
#pragma once

#include <stdexcept>
#include <string>

namespace gptq {

// Mirrors gptq_status in capi/include/gptq/gptq.h value for value; a static_assert
// in capi/ keeps the two in step.
enum class Status : int {
  Ok = 0,
  InvalidArgument = 1,
  Io = 2,
  Format = 3,
  Unsupported = 4,
  OutOfMemory = 5,
  Device = 6,
  Numerical = 7,
  Cancelled = 8,
  Internal = 9,
  BufferTooSmall = 10,
};

class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string &message)
      : std::runtime_error(message), status_(status) {}
  Status status() const noexcept { return status_; }

 private:
  Status status_;
};

// Short helpers so throw sites read as what went wrong.
[[noreturn]] inline void fail(Status status, const std::string &message) {
  throw Error(status, message);
}

}  // namespace gptq
