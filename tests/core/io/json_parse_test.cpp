// json_parse.h is internal to core (it includes nlohmann); the test links the
// nlohmann target itself.
#include "core/io/json_parse.h"

#include <gtest/gtest.h>

#include "tests/core/io/io_test_support.h"

namespace gptq::io {
namespace {

TEST(ParseJsonStrict, ParsesValidJson) {
  const auto j = parse_json_strict(R"({"a": [1, {"b": "c"}], "d": {"a": 1}})", "x.json", 8);
  EXPECT_EQ(j["a"][1]["b"], "c");
  EXPECT_EQ(j["d"]["a"], 1);  // the same key in different objects is fine
}

TEST(ParseJsonStrict, RejectsDuplicateKeysAtAnyDepth) {
  EXPECT_GPTQ_ERROR(parse_json_strict(R"({"a": 1, "a": 2})", "x.json", 8), Status::Format,
                    {"x.json", "duplicate key 'a'", "(root)"});
  EXPECT_GPTQ_ERROR(parse_json_strict(R"({"o": [{"k": 1, "k": 1}]})", "x.json", 8), Status::Format,
                    {"x.json", "duplicate key 'k'"});
}

TEST(ParseJsonStrict, LimitsDepth) {
  EXPECT_NO_THROW(parse_json_strict("[[[]]]", "x.json", 3));
  EXPECT_GPTQ_ERROR(parse_json_strict("[[[[]]]]", "x.json", 3), Status::Format,
                    {"x.json", "deeper than 3"});
}

TEST(ParseJsonStrict, ReportsTheBytePosition) {
  EXPECT_GPTQ_ERROR(parse_json_strict("{\"a\": tru}", "x.json", 8), Status::Format,
                    {"x.json", "invalid JSON at byte"});
  EXPECT_GPTQ_ERROR(parse_json_strict("", "x.json", 8), Status::Format, {"x.json"});
  EXPECT_GPTQ_ERROR(parse_json_strict("{\"a\": \"\xff\"}", "x.json", 8), Status::Format, {"x.json"});
}

}  // namespace
}  // namespace gptq::io
