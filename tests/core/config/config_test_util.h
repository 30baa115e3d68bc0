// Helpers shared by the config codec tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/codec.h"
#include "core/base/error.h"

namespace gptq::config::testing {

inline std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

inline std::string text(const std::vector<uint8_t> &v) { return {v.begin(), v.end()}; }

// JSON -> JSON through convert(), as the C API will call it.
inline std::string normalize(Kind kind, std::string_view json) {
  return text(convert(kind, bytes(json), Encoding::Json, Encoding::Json));
}

// The InvalidArgument message `f` throws; a test failure (and "") if it does
// not throw that.
template <class F>
std::string error_of(F &&f) {
  try {
    f();
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected gptq::Error(InvalidArgument)";
  return "";
}

inline std::string json_error(Kind kind, std::string_view json) {
  return error_of([&] { json_to_binary(kind, json); });
}

inline std::string binary_error(Kind kind, std::span<const uint8_t> binary) {
  return error_of([&] { binary_to_json(kind, binary); });
}

}  // namespace gptq::config::testing
