// Inputs the config_json fuzzer (tests/fuzz/config_json_fuzz.cpp) found or
// that probe the same edges: each must be refused with InvalidArgument or
// accepted, never crash. Add a case here for every crash the fuzzer finds.
#include <gtest/gtest.h>

#include <string>

#include "core/config/codec.h"
#include "tests/core/config/config_test_util.h"

namespace gptq::config {
namespace {

void survives(std::string_view input) {
  for (Kind kind : kAllKinds) {
    for (Encoding enc : {Encoding::Json, Encoding::Binary}) {
      try {
        convert(kind, testing::bytes(input), enc, Encoding::Json);
      } catch (const Error &e) {
        EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
      }
    }
  }
}

TEST(FuzzRegressions, DeepNesting) {
  survives(std::string(100000, '['));
  survives(std::string(100000, '[') + std::string(100000, ']'));
  survives("{\"bits\": " + std::string(50000, '[') + std::string(50000, ']') + "}");
  survives("{\"x\": " + std::string(50000, '{'));
}

TEST(FuzzRegressions, OddJsonValues) {
  survives("{\"stop\": [\"\\u0000\"]}");
  survives("{\"bits\": -0}");
  survives("{\"temperature\": -0.0}");
  survives("{\"temperature\": 1e-400}");
  survives("{\"seed\": 1e19}");
  survives("{\"seed\": -0.0}");
  survives(std::string("{\"\0\": 1}", 8));
  survives("\xef\xbb\xbf{}");  // byte order mark
}

}  // namespace
}  // namespace gptq::config
