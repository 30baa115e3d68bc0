// gptq_config_convert and gptq_config_schema through the C API: the caller's
// buffer protocol, JSON <-> binary, and the error a user sees for a bad value.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gptq/gptq.h"

namespace {

std::string to_json(gptq_config_kind kind, const std::string &in, gptq_status *st) {
  size_t need = 0;
  *st = gptq_config_convert(kind, in.data(), in.size(), GPTQ_ENCODING_JSON, GPTQ_ENCODING_JSON,
                            nullptr, 0, &need);
  if (*st != GPTQ_ERR_BUFFER_TOO_SMALL) return {};
  EXPECT_GT(need, 0u);
  std::string out(need + 1, '\0');
  *st = gptq_config_convert(kind, in.data(), in.size(), GPTQ_ENCODING_JSON, GPTQ_ENCODING_JSON,
                            out.data(), out.size(), &need);
  out.resize(need);
  return out;
}

}  // namespace

TEST(ConfigApi, BadBitsNamesFieldAndAllowedValues) {
  std::string in = R"({"bits": 5})";
  size_t need = 0;
  char buf[4096];
  EXPECT_EQ(gptq_config_convert(GPTQ_CONFIG_QUANTIZE, in.data(), in.size(), GPTQ_ENCODING_JSON,
                                GPTQ_ENCODING_JSON, buf, sizeof buf, &need),
            GPTQ_ERR_INVALID_ARGUMENT);
  std::string msg = gptq_last_error();
  EXPECT_NE(msg.find("bits"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2, 3, 4, 8"), std::string::npos) << msg;
}

TEST(ConfigApi, SizeIsReportedWhenTheBufferIsShortAndDefaultsAreFilled) {
  gptq_status st;
  std::string json = to_json(GPTQ_CONFIG_QUANTIZE, R"({"bits": 3, "group_size": 128})", &st);
  ASSERT_EQ(st, GPTQ_OK) << gptq_last_error();
  EXPECT_NE(json.find("\"bits\": 3"), std::string::npos) << json;
  EXPECT_NE(json.find("\"group_size\": 128"), std::string::npos) << json;
  EXPECT_NE(json.find("\"damp_percent\""), std::string::npos) << "defaults missing: " << json;
  EXPECT_NE(json.find("\"desc_act\": false"), std::string::npos) << json;
}

TEST(ConfigApi, BinaryRoundTrip) {
  std::string in = R"({"backend": "cpu", "threads": 3})";
  size_t need = 0;
  ASSERT_EQ(gptq_config_convert(GPTQ_CONFIG_RUNTIME, in.data(), in.size(), GPTQ_ENCODING_JSON,
                                GPTQ_ENCODING_BINARY, nullptr, 0, &need),
            GPTQ_ERR_BUFFER_TOO_SMALL);
  ASSERT_GT(need, 8u);
  std::vector<unsigned char> bin(need);
  ASSERT_EQ(gptq_config_convert(GPTQ_CONFIG_RUNTIME, in.data(), in.size(), GPTQ_ENCODING_JSON,
                                GPTQ_ENCODING_BINARY, bin.data(), bin.size(), &need),
            GPTQ_OK)
      << gptq_last_error();
  EXPECT_EQ(std::string(reinterpret_cast<char *>(bin.data()) + 4, 4), "GPTQ");
  char out[2048];
  ASSERT_EQ(gptq_config_convert(GPTQ_CONFIG_RUNTIME, bin.data(), bin.size(),
                                GPTQ_ENCODING_BINARY, GPTQ_ENCODING_JSON, out, sizeof out, &need),
            GPTQ_OK)
      << gptq_last_error();
  std::string json(out, need);
  EXPECT_NE(json.find("\"threads\": 3"), std::string::npos) << json;
  EXPECT_EQ(out[need], '\0');
}

TEST(ConfigApi, JsonNeedsRoomForTheNul) {
  std::string in = R"({"threads": 1})";
  size_t need = 0;
  ASSERT_EQ(gptq_config_convert(GPTQ_CONFIG_RUNTIME, in.data(), in.size(), GPTQ_ENCODING_JSON,
                                GPTQ_ENCODING_JSON, nullptr, 0, &need),
            GPTQ_ERR_BUFFER_TOO_SMALL);
  std::string exact(need, 'x');  // one byte short: no room for the NUL
  size_t again = 0;
  EXPECT_EQ(gptq_config_convert(GPTQ_CONFIG_RUNTIME, in.data(), in.size(), GPTQ_ENCODING_JSON,
                                GPTQ_ENCODING_JSON, exact.data(), exact.size(), &again),
            GPTQ_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(again, need);
  EXPECT_EQ(exact, std::string(need, 'x')) << "nothing may be written into a short buffer";
  EXPECT_NE(std::string(gptq_last_error()).find("buffer too small"), std::string::npos);
}

TEST(ConfigApi, CorruptBinaryIsRejected) {
  unsigned char junk[16] = {1, 2, 3, 4, 'G', 'P', 'T', 'Q', 9, 9, 9, 9, 9, 9, 9, 9};
  size_t need = 0;
  char out[256];
  EXPECT_EQ(gptq_config_convert(GPTQ_CONFIG_QUANTIZE, junk, sizeof junk, GPTQ_ENCODING_BINARY,
                                GPTQ_ENCODING_JSON, out, sizeof out, &need),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("QuantizeConfig"), std::string::npos)
      << gptq_last_error();
}

TEST(ConfigApi, BadArguments) {
  size_t need = 0;
  EXPECT_EQ(gptq_config_convert(static_cast<gptq_config_kind>(99), "{}", 2, GPTQ_ENCODING_JSON,
                                GPTQ_ENCODING_JSON, nullptr, 0, &need),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("kind"), std::string::npos);
  EXPECT_EQ(gptq_config_convert(GPTQ_CONFIG_QUANTIZE, nullptr, 5, GPTQ_ENCODING_JSON,
                                GPTQ_ENCODING_JSON, nullptr, 0, &need),
            GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_config_convert(GPTQ_CONFIG_QUANTIZE, "{}", 2, GPTQ_ENCODING_JSON,
                                GPTQ_ENCODING_JSON, nullptr, 0, nullptr),
            GPTQ_ERR_INVALID_ARGUMENT);
}

TEST(ConfigApi, SchemaIsEmbedded) {
  std::string schema = gptq_config_schema();
  EXPECT_NE(schema.find("table QuantizeConfig"), std::string::npos);
  EXPECT_NE(schema.find("gptq_allowed: \"2|3|4|8\""), std::string::npos);
}
