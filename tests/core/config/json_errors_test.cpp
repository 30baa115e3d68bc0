// Bad JSON configs: each class of mistake gives InvalidArgument with a message
// that names the table, the field path and what would have been accepted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config/codec.h"
#include "tests/core/config/config_test_util.h"

namespace gptq::config {
namespace {

using ::testing::HasSubstr;
using testing::json_error;

TEST(JsonErrors, UnknownTopLevelFieldIsNamedWithTheKnownOnes) {
  const std::string m = json_error(Kind::Quantize, R"({"bitz": 4})");
  EXPECT_THAT(m, HasSubstr("invalid QuantizeConfig"));
  EXPECT_THAT(m, HasSubstr("unknown field \"bitz\""));
  EXPECT_THAT(m, HasSubstr("bits, group_size, desc_act"));
  EXPECT_THAT(m, HasSubstr("hessian_fp64"));
}

TEST(JsonErrors, UnknownNestedFieldHasItsPath) {
  const std::string m = json_error(Kind::Quantize, R"({"mse": {"enabled": true, "gird": 10}})");
  EXPECT_THAT(m, HasSubstr("unknown field \"mse.gird\""));
  EXPECT_THAT(m, HasSubstr("fields of MseConfig: enabled, norm, grid, max_shrink"));
  EXPECT_THAT(json_error(Kind::QuantizeReport, R"({"layers": [{}, {"los": 1}]})"),
              HasSubstr("unknown field \"layers[1].los\""));
  EXPECT_THAT(json_error(Kind::QuantizeReport, R"({"config": {"calibration": {"file": []}}})"),
              HasSubstr("unknown field \"config.calibration.file\""));
}

TEST(JsonErrors, WrongTypeForInt) {
  std::string m = json_error(Kind::Quantize, R"({"bits": "4"})");
  EXPECT_THAT(m, HasSubstr("bits: expected int, got string \"4\""));
  m = json_error(Kind::Quantize, R"({"mse": {"grid": 10.5}})");
  EXPECT_THAT(m, HasSubstr("mse.grid: expected int (an integer), got number 10.5"));
  EXPECT_THAT(json_error(Kind::Quantize, R"({"bits": 4.0})"), HasSubstr("bits: expected int"));
  EXPECT_THAT(json_error(Kind::Quantize, R"({"bits": true})"),
              HasSubstr("bits: expected int, got true"));
  EXPECT_THAT(json_error(Kind::Calibration, R"({"seed": "7"})"), HasSubstr("seed: expected ulong"));
}

TEST(JsonErrors, WrongTypeForFloat) {
  EXPECT_THAT(json_error(Kind::Quantize, R"({"damp_percent": "0.01"})"),
              HasSubstr("damp_percent: expected float, got string \"0.01\""));
  EXPECT_THAT(json_error(Kind::QuantizeReport, R"({"seconds": [1]})"),
              HasSubstr("seconds: expected double, got an array"));
}

TEST(JsonErrors, WrongTypeForBool) {
  EXPECT_THAT(json_error(Kind::Quantize, R"({"sym": 1})"),
              HasSubstr("sym: expected bool (true or false), got number 1"));
  EXPECT_THAT(json_error(Kind::Quantize, R"({"mse": {"enabled": "true"}})"),
              HasSubstr("mse.enabled: expected bool"));
}

TEST(JsonErrors, WrongTypeForString) {
  EXPECT_THAT(json_error(Kind::ModelInfo, R"({"model_type": 3})"),
              HasSubstr("model_type: expected string, got number 3"));
  EXPECT_THAT(json_error(Kind::QuantizeReport, R"({"layers": [{"name": {}}]})"),
              HasSubstr("layers[0].name: expected string, got an object"));
}

TEST(JsonErrors, WrongTypeForEnum) {
  const std::string m = json_error(Kind::Runtime, R"({"backend": 1})");
  EXPECT_THAT(m, HasSubstr("backend: expected a Backend name (\"auto\", \"cpu\", \"cuda\")"));
  EXPECT_THAT(m, HasSubstr("got number 1"));
}

TEST(JsonErrors, BadEnumNameListsTheNames) {
  EXPECT_THAT(
      json_error(Kind::Runtime, R"({"backend": "gpu"})"),
      HasSubstr("backend: \"gpu\" is not a Backend (allowed: \"auto\", \"cpu\", \"cuda\")"));
  EXPECT_THAT(json_error(Kind::Runtime, R"({"log_level": "WARN"})"),
              HasSubstr("\"error\", \"warn\", \"info\", \"debug\""));
  // flatbuffers' own parser would take "cpu cuda" as flags; the codec does not.
  EXPECT_THAT(json_error(Kind::Runtime, R"({"backend": "cpu cuda"})"),
              HasSubstr("is not a Backend"));
  EXPECT_THAT(
      json_error(Kind::Quantize, R"({"checkpoint_format": "v2"})"),
      HasSubstr(
          "checkpoint_format: \"v2\" is not a CheckpointFormat (allowed: \"gptq\", \"gptq_v2\")"));
}

TEST(JsonErrors, WrongTypeForVector) {
  EXPECT_THAT(json_error(Kind::Quantize, R"({"modules_to_skip": "lm_head"})"),
              HasSubstr("modules_to_skip: expected an array of string, got string \"lm_head\""));
  EXPECT_THAT(json_error(Kind::Calibration, R"({"token_ids": [1, "2"]})"),
              HasSubstr("token_ids[1]: expected int, got string \"2\""));
  EXPECT_THAT(json_error(Kind::Calibration, R"({"token_ids": [1, null]})"),
              HasSubstr("token_ids[1]: expected int, got null"));
  EXPECT_THAT(json_error(Kind::QuantizeReport, R"({"layers": {}})"),
              HasSubstr("layers: expected an array of LayerReport, got an object"));
  EXPECT_THAT(json_error(Kind::QuantizeReport, R"({"layers": [3]})"),
              HasSubstr("layers[0]: expected an object (LayerReport), got number 3"));
}

TEST(JsonErrors, WrongTypeForTable) {
  EXPECT_THAT(json_error(Kind::Quantize, R"({"mse": true})"),
              HasSubstr("mse: expected an object (MseConfig), got true"));
  EXPECT_THAT(json_error(Kind::Quantize, R"({"calibration": []})"),
              HasSubstr("calibration: expected an object (CalibrationConfig), got an array"));
}

TEST(JsonErrors, NumbersThatDoNotFitTheirType) {
  EXPECT_THAT(json_error(Kind::Runtime, R"({"threads": 2147483648})"),
              HasSubstr("threads: 2147483648 does not fit in int"));
  EXPECT_THAT(json_error(Kind::Runtime, R"({"threads": -2147483649})"),
              HasSubstr("threads: -2147483649 does not fit in int"));
  EXPECT_THAT(json_error(Kind::Calibration, R"({"seed": -1})"),
              HasSubstr("seed: -1 does not fit in ulong"));
  EXPECT_THAT(json_error(Kind::Calibration, R"({"seed": 18446744073709551616})"),
              HasSubstr("does not fit in ulong"));
  EXPECT_THAT(json_error(Kind::Generation, R"({"temperature": 1e39})"),
              HasSubstr("temperature: 1e+39 does not fit in float"));
  EXPECT_THAT(json_error(Kind::QuantizeReport, R"({"seconds": 1e400})"),
              HasSubstr("number overflow"));
}

TEST(JsonErrors, AllowedListViolation) {
  const std::string m = json_error(Kind::Quantize, R"({"bits": 5})");
  EXPECT_EQ(m, "invalid QuantizeConfig: bits: 5 is not allowed (allowed: 2, 3, 4, 8)");
}

TEST(JsonErrors, BelowMinimum) {
  EXPECT_THAT(json_error(Kind::Calibration, R"({"nsamples": 0})"),
              HasSubstr("nsamples: 0 is out of range (allowed: 1..1000000)"));
  EXPECT_THAT(json_error(Kind::Generation, R"({"repetition_penalty": 0.005})"),
              HasSubstr("repetition_penalty: 0.005 is out of range (allowed: 0.01..100)"));
}

TEST(JsonErrors, AboveMaximum) {
  EXPECT_THAT(json_error(Kind::Runtime, R"({"device": 1024})"),
              HasSubstr("device: 1024 is out of range (allowed: 0..1023)"));
  EXPECT_THAT(json_error(Kind::Quantize, R"({"mse": {"norm": 10.5}})"),
              HasSubstr("mse.norm: 10.5 is out of range (allowed: 1..10)"));
  EXPECT_THAT(json_error(Kind::Generation, R"({"top_p": 1.0000001})"),
              HasSubstr("top_p: 1.0000001 is out of range (allowed: 0..1)"));
}

TEST(JsonErrors, OrValueIsTheOnlyExtraValue) {
  EXPECT_EQ(json_error(Kind::Quantize, R"({"group_size": 8})"),
            "invalid QuantizeConfig: group_size: 8 is out of range (allowed: -1 or 16..1048576)");
  EXPECT_THAT(json_error(Kind::Quantize, R"({"group_size": -2})"),
              HasSubstr("group_size: -2 is out of range (allowed: -1 or 16..1048576)"));
  EXPECT_THAT(json_error(Kind::Quantize, R"({"group_size": 0})"),
              HasSubstr("(allowed: -1 or 16..1048576)"));
}

TEST(JsonErrors, RangeErrorsInNestedTablesHaveTheirPath) {
  EXPECT_THAT(
      json_error(Kind::QuantizeReport, R"({"config": {"mse": {"grid": 0}}})"),
      HasSubstr("invalid QuantizeReport: config.mse.grid: 0 is out of range (allowed: 1..10000)"));
  EXPECT_THAT(json_error(Kind::ModelInfo, R"({"quantization": {"bits": 16}})"),
              HasSubstr("quantization.bits: 16 is not allowed"));
}

TEST(JsonErrors, InvalidJsonGivesThePosition) {
  std::string m = json_error(Kind::Quantize, "{\"bits\": 4,}");
  EXPECT_THAT(m, HasSubstr("invalid QuantizeConfig JSON"));
  EXPECT_THAT(m, HasSubstr("line 1, column 12"));
  m = json_error(Kind::Quantize, "{\n  \"bits\": 4\n  \"sym\": true\n}");
  EXPECT_THAT(m, HasSubstr("line 3"));
  EXPECT_THAT(json_error(Kind::Quantize, "{bits: 4}"), HasSubstr("column 2"));
  EXPECT_THAT(json_error(Kind::Quantize, "{\"bits\": 4"), HasSubstr("unexpected end of input"));
  EXPECT_THAT(json_error(Kind::Quantize, "// comment\n{}"),
              HasSubstr("invalid QuantizeConfig JSON"));
  EXPECT_THAT(json_error(Kind::Quantize, "{\"bits\": 0x4}"),
              HasSubstr("invalid QuantizeConfig JSON"));
  EXPECT_THAT(json_error(Kind::Generation, "{\"stop\": [\"\xff\"]}"),
              HasSubstr("invalid GenerationConfig JSON"));
}

TEST(JsonErrors, TrailingGarbage) {
  const std::string m = json_error(Kind::Runtime, R"({"threads": 2} {"threads": 3})");
  EXPECT_THAT(m, HasSubstr("invalid RuntimeConfig JSON"));
  EXPECT_THAT(m, HasSubstr("expected end of input"));
  EXPECT_THAT(json_error(Kind::Runtime, "{}x"), HasSubstr("column 3"));
  // A NUL is not the end of the text (one trailing NUL from C is ignored).
  EXPECT_THAT(json_error(Kind::Runtime, std::string("{}\0\0", 4)),
              HasSubstr("NUL byte at offset 2"));
  EXPECT_THAT(json_error(Kind::Runtime, std::string("{}\0{\"threads\": -5}", 17)),
              HasSubstr("NUL byte at offset 2"));
}

TEST(JsonErrors, NotAnObject) {
  EXPECT_EQ(json_error(Kind::Runtime, "[]"),
            "invalid RuntimeConfig: expected a JSON object, got an array");
  EXPECT_THAT(json_error(Kind::Runtime, "4"), HasSubstr("expected a JSON object, got number 4"));
  EXPECT_THAT(json_error(Kind::Runtime, "\"cpu\""), HasSubstr("expected a JSON object"));
  EXPECT_THAT(json_error(Kind::Runtime, "null"), HasSubstr("expected a JSON object, got null"));
}

TEST(JsonErrors, DuplicateKeys) {
  EXPECT_THAT(json_error(Kind::Quantize, R"({"bits": 4, "bits": 8})"),
              HasSubstr("field \"bits\" appears more than once"));
  EXPECT_THAT(json_error(Kind::Quantize, R"({"mse": {"grid": 4, "grid": 8}})"),
              HasSubstr("\"grid\" appears more than once"));
  // The same key in different objects is fine.
  EXPECT_NO_THROW(json_to_binary(Kind::QuantizeReport,
                                 R"({"layers": [{"name": "a"}, {"name": "b"}], "config": {}})"));
}

TEST(JsonErrors, UnknownKindOrEncoding) {
  const std::span<const uint8_t> none;
  EXPECT_THAT(testing::error_of(
                  [&] { convert(static_cast<Kind>(0), none, Encoding::Json, Encoding::Json); }),
              HasSubstr("unknown config kind 0"));
  EXPECT_THAT(testing::error_of(
                  [&] { convert(static_cast<Kind>(9), none, Encoding::Json, Encoding::Json); }),
              HasSubstr("unknown config kind 9"));
  EXPECT_THAT(testing::error_of(
                  [&] { convert(Kind::Runtime, none, static_cast<Encoding>(3), Encoding::Json); }),
              HasSubstr("unknown config encoding 3"));
}

}  // namespace
}  // namespace gptq::config
