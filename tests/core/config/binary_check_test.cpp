// Binary input: corrupt buffers are refused by the Verifier, and values out of
// range are refused with the very message JSON input gets (one range check).
#include "core/config/binary_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/config/codec.h"
#include "schema/gptq_generated.h"
#include "tests/core/config/config_test_util.h"

namespace gptq::config {
namespace {

using testing::binary_error;
using ::testing::HasSubstr;
using testing::json_error;

template <class Finish>
std::vector<uint8_t> build(Finish &&finish) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(finish(fbb), kFileIdentifier);
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

TEST(BinaryCheck, TruncatedBufferIsNotValid) {
  const std::vector<uint8_t> good =
      json_to_binary(Kind::Quantize, R"({"bits": 8, "modules_to_skip": ["lm_head"]})");
  for (size_t n : {size_t{1}, size_t{7}, good.size() / 2, good.size() - 1}) {
    const std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
    EXPECT_THAT(binary_error(Kind::Quantize, cut),
                HasSubstr("not a valid QuantizeConfig flatbuffer"))
        << n;
  }
}

TEST(BinaryCheck, WrongFileIdentifierIsNotValid) {
  std::vector<uint8_t> b = json_to_binary(Kind::Runtime, R"({"threads": 2})");
  b[4] = 'X';
  EXPECT_THAT(binary_error(Kind::Runtime, b), HasSubstr("not a valid RuntimeConfig flatbuffer"));
  EXPECT_THAT(
      testing::error_of([&] { convert(Kind::Runtime, b, Encoding::Binary, Encoding::Binary); }),
      HasSubstr("not a valid RuntimeConfig flatbuffer"));
}

TEST(BinaryCheck, RandomBytesAreRefusedNotCrashed) {
  std::mt19937 rng(7);
  int refused = 0;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> junk(rng() % 96);
    for (uint8_t &b : junk) b = static_cast<uint8_t>(rng());
    if (junk.size() >= 8 && i % 2 == 0)
      std::copy(kFileIdentifier, kFileIdentifier + 4, junk.begin() + 4);
    for (Kind kind : kAllKinds) {
      try {
        binary_to_json(kind, junk);
      } catch (const Error &e) {
        EXPECT_EQ(e.status(), Status::InvalidArgument);
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(BinaryCheck, OutOfRangeValueHasTheSameMessageAsJson) {
  const std::vector<uint8_t> bits5 = build([](auto &fbb) {
    schema::QuantizeConfigBuilder b(fbb);
    b.add_bits(5);
    return b.Finish();
  });
  EXPECT_EQ(binary_error(Kind::Quantize, bits5), json_error(Kind::Quantize, R"({"bits": 5})"));
  EXPECT_EQ(binary_error(Kind::Quantize, bits5),
            "invalid QuantizeConfig: bits: 5 is not allowed (allowed: 2, 3, 4, 8)");

  const std::vector<uint8_t> group8 =
      build([](auto &fbb) { return schema::CreateQuantizeConfig(fbb, 4, 8); });
  EXPECT_EQ(binary_error(Kind::Quantize, group8),
            json_error(Kind::Quantize, R"({"group_size": 8})"));

  const std::vector<uint8_t> grid = build([](auto &fbb) {
    auto mse = schema::CreateMseConfig(fbb, true, 2.4f, 0);
    schema::QuantizeConfigBuilder b(fbb);
    b.add_mse(mse);
    return b.Finish();
  });
  EXPECT_EQ(binary_error(Kind::Quantize, grid),
            json_error(Kind::Quantize, R"({"mse": {"grid": 0}})"));
  EXPECT_THAT(binary_error(Kind::Quantize, grid),
              HasSubstr("mse.grid: 0 is out of range (allowed: 1..10000)"));

  const std::vector<uint8_t> temp = build([](auto &fbb) {
    schema::GenerationConfigBuilder b(fbb);
    b.add_temperature(100.5f);
    return b.Finish();
  });
  EXPECT_EQ(binary_error(Kind::Generation, temp),
            json_error(Kind::Generation, R"({"temperature": 100.5})"));
}

TEST(BinaryCheck, OutOfRangeInANestedTableHasItsPath) {
  const std::vector<uint8_t> b = build([](auto &fbb) {
    auto bad = schema::CreateQuantizeConfig(fbb, 7);
    schema::ModelInfoBuilder m(fbb);
    m.add_quantization(bad);
    return m.Finish();
  });
  EXPECT_THAT(binary_error(Kind::ModelInfo, b),
              HasSubstr("invalid ModelInfo: quantization.bits: 7 is not allowed"));
}

TEST(BinaryCheck, EnumValueOutsideTheEnum) {
  const std::vector<uint8_t> b = build(
      [](auto &fbb) { return schema::CreateRuntimeConfig(fbb, static_cast<schema::Backend>(7)); });
  EXPECT_THAT(binary_error(Kind::Runtime, b),
              HasSubstr("backend: 7 is not a value of enum Backend"));
  // LogLevel starts at 1, so 0 (what a zeroed field would hold) is not valid.
  const std::vector<uint8_t> l = build([](auto &fbb) {
    return schema::CreateRuntimeConfig(fbb, schema::Backend::cpu, 0, 0,
                                       static_cast<schema::LogLevel>(0));
  });
  EXPECT_THAT(binary_error(Kind::Runtime, l),
              HasSubstr("log_level: 0 is not a value of enum LogLevel"));
}

TEST(BinaryCheck, NonFiniteFloatsAreRefused) {
  const std::vector<uint8_t> nan = build([](auto &fbb) {
    schema::GenerationConfigBuilder b(fbb);
    b.add_top_p(std::numeric_limits<float>::quiet_NaN());
    return b.Finish();
  });
  EXPECT_THAT(binary_error(Kind::Generation, nan), HasSubstr("top_p: nan is not a finite number"));
  // Also where the schema sets no bounds: JSON cannot carry infinity.
  const std::vector<uint8_t> inf = build([](auto &fbb) {
    auto name = fbb.CreateString("l0");
    auto layer = schema::CreateLayerReport(fbb, name, std::numeric_limits<double>::infinity());
    auto layers = fbb.CreateVector(std::vector<flatbuffers::Offset<schema::LayerReport>>{layer});
    schema::QuantizeReportBuilder r(fbb);
    r.add_layers(layers);
    return r.Finish();
  });
  EXPECT_THAT(binary_error(Kind::QuantizeReport, inf),
              HasSubstr("layers[0].loss: inf is not a finite number"));
}

TEST(BinaryCheck, InvalidUtf8StringsAreRefused) {
  const std::vector<uint8_t> b = build([](auto &fbb) {
    auto ok = fbb.CreateString("model-1.safetensors");
    auto bad = fbb.CreateString("\xc3\x28");
    auto shards = fbb.CreateVector(std::vector<flatbuffers::Offset<flatbuffers::String>>{ok, bad});
    schema::ModelInfoBuilder m(fbb);
    m.add_shards(shards);
    return m.Finish();
  });
  EXPECT_THAT(binary_error(Kind::ModelInfo, b), HasSubstr("shards[1]: string is not valid UTF-8"));
}

TEST(BinaryCheck, GoodBinaryFromTheBuilderReadsBack) {
  const std::vector<uint8_t> b = build([](auto &fbb) {
    return schema::CreateRuntimeConfig(fbb, schema::Backend::cpu, 0, 8, schema::LogLevel::info);
  });
  EXPECT_NO_THROW(check_binary(Kind::Runtime, b));
  EXPECT_EQ(binary_to_json(Kind::Runtime, b),
            testing::normalize(Kind::Runtime,
                               R"({"backend": "cpu", "threads": 8, "log_level": "info"})"));
}

}  // namespace
}  // namespace gptq::config
