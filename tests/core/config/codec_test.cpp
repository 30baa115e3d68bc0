// Round trips of core/config/codec.h: JSON -> binary -> JSON for every kind,
// with defaults filled in and values (floats bit for bit) preserved.
#include "core/config/codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/core/config/config_test_util.h"

namespace gptq::config {
namespace {

using nlohmann::json;
using testing::bytes;
using testing::normalize;
using testing::text;

// Every key of `part` appears in `whole` with an equal value (recursively for
// objects; arrays compared element by element the same way).
void expect_contains(const json &whole, const json &part, const std::string &path = "") {
  if (part.is_object()) {
    ASSERT_TRUE(whole.is_object()) << path;
    for (auto &[k, v] : part.items()) {
      ASSERT_TRUE(whole.contains(k)) << path << "." << k;
      expect_contains(whole.at(k), v, path + "." + k);
    }
  } else if (part.is_array()) {
    ASSERT_TRUE(whole.is_array()) << path;
    ASSERT_EQ(whole.size(), part.size()) << path;
    for (size_t i = 0; i < part.size(); ++i)
      expect_contains(whole[i], part[i], path + "[" + std::to_string(i) + "]");
  } else if (part.is_number_float() || whole.is_number_float()) {
    EXPECT_EQ(whole.get<double>(), part.get<double>()) << path;
  } else {
    EXPECT_EQ(whole, part) << path;
  }
}

struct Sample {
  Kind kind;
  const char *json;  // non-default values for (nearly) every field
};

const Sample kSamples[] = {
    {Kind::Quantize, R"({"bits": 3, "group_size": 128, "desc_act": false, "sym": false,
       "damp_percent": 0.1, "damp_auto_increment": 0, "static_groups": true,
       "true_sequential": false, "mse": {"enabled": true, "norm": 3, "grid": 50,
       "max_shrink": 0.5}, "block_size": 64, "checkpoint_format": "gptq_v2",
       "modules_to_skip": ["lm_head", "mlp.down_proj"],
       "calibration": {"files": ["a.txt"], "nsamples": 16, "seqlen": 0, "seed": 7},
       "hessian_fp64": true})"},
    {Kind::Calibration, R"({"files": [], "token_ids": [1, 2, -3, 2147483647],
       "nsamples": 1000000, "seqlen": 1048576, "seed": 18446744073709551615})"},
    {Kind::Runtime,
     R"({"backend": "cuda", "device": 1023, "threads": 4096, "log_level": "debug"})"},
    {Kind::Generation, R"({"max_new_tokens": 0, "temperature": 0.7, "top_k": 40, "top_p": 0.95,
       "repetition_penalty": 1.1, "seed": 42, "stop": ["\n\n", "</s>", "\u00e9\u4e2d"],
       "stop_at_eos": false})"},
    {Kind::QuantizeReport, R"({"layers": [
         {"name": "model.layers.0.self_attn.q_proj", "loss": 0.30000000000000004,
          "damp": 0.0125, "seconds": 1e-9, "rtn_loss": 12.5},
         {"name": "model.layers.0.mlp.down_proj", "loss": 1e300}],
       "config": {"bits": 8, "mse": {"grid": 10}}, "seconds": 3.25,
       "peak_rss_bytes": 123456789012, "backend": "cpu"})"},
    {Kind::ModelInfo, R"({"model_type": "llama", "architecture": "LlamaForCausalLM",
       "hidden_size": 4096, "num_layers": 32, "num_heads": 32, "num_kv_heads": 8,
       "head_dim": 128, "intermediate_size": 14336, "vocab_size": 128256,
       "max_position_embeddings": 8192, "dtype": "bfloat16", "parameters": 8030261248,
       "shards": ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"],
       "quantization": {"bits": 4, "group_size": 128}})"},
};

class RoundTrip : public ::testing::TestWithParam<Sample> {};

TEST_P(RoundTrip, ValuesPreservedAndDefaultsFilled) {
  const Sample &s = GetParam();
  const std::string out = normalize(s.kind, s.json);
  expect_contains(json::parse(out), json::parse(s.json));
  // The output is a fixed point: reading it back changes nothing.
  EXPECT_EQ(normalize(s.kind, out), out);
}

TEST_P(RoundTrip, BinaryCarriesTheSameValues) {
  const Sample &s = GetParam();
  const std::vector<uint8_t> binary = json_to_binary(s.kind, s.json);
  ASSERT_GE(binary.size(), 8u);
  EXPECT_EQ(std::memcmp(binary.data() + 4, kFileIdentifier, 4), 0);
  EXPECT_EQ(binary_to_json(s.kind, binary), normalize(s.kind, s.json));
  EXPECT_EQ(text(convert(s.kind, binary, Encoding::Binary, Encoding::Json)),
            normalize(s.kind, s.json));
  EXPECT_EQ(convert(s.kind, binary, Encoding::Binary, Encoding::Binary), binary);
  EXPECT_EQ(convert(s.kind, bytes(s.json), Encoding::Json, Encoding::Binary), binary);
}

TEST_P(RoundTrip, EmptyInputIsAllDefaultsInBothEncodings) {
  const Sample &s = GetParam();
  const std::string defaults = normalize(s.kind, "");
  EXPECT_EQ(normalize(s.kind, "{}"), defaults);
  EXPECT_EQ(normalize(s.kind, " \n\t "), defaults);
  EXPECT_EQ(text(convert(s.kind, {}, Encoding::Binary, Encoding::Json)), defaults);
  EXPECT_EQ(binary_to_json(s.kind, convert(s.kind, {}, Encoding::Binary, Encoding::Binary)),
            defaults);
  // Every field of the sample is present in the defaults too.
  const json d = json::parse(defaults);
  const json sample = json::parse(s.json);
  for (auto &[k, v] : sample.items()) EXPECT_TRUE(d.contains(k)) << k;
}

INSTANTIATE_TEST_SUITE_P(AllKinds, RoundTrip, ::testing::ValuesIn(kSamples),
                         [](const auto &p) { return std::string(kind_table_name(p.param.kind)); });

TEST(Codec, QuantizeConfigDefaultsMatchTheSchema) {
  const json d = json::parse(normalize(Kind::Quantize, ""));
  EXPECT_EQ(d["bits"], 4);
  EXPECT_EQ(d["group_size"], 128);  // GPTQModel's GPTQConfig (the schema says why)
  EXPECT_EQ(d["desc_act"], false);
  EXPECT_EQ(d["damp_percent"].get<double>(), 0.05);  // written as the float's shortest decimal
  EXPECT_EQ(d["damp_auto_increment"].get<double>(), 0.01);
  EXPECT_EQ(d["checkpoint_format"], "gptq");
  EXPECT_EQ(d["modules_to_skip"], json::array());
  // Absent sub-tables appear with their own defaults.
  EXPECT_EQ(d["mse"]["enabled"], false);
  EXPECT_EQ(d["mse"]["norm"].get<double>(), 2.4);
  EXPECT_EQ(d["mse"]["grid"], 100);
  EXPECT_EQ(d["calibration"]["nsamples"], 128);
  EXPECT_EQ(d["calibration"]["files"], json::array());
  EXPECT_EQ(d["overwrite"], false);
  EXPECT_EQ(d["compare_rtn"], false);
  EXPECT_EQ(d["method"], "gptq");
  EXPECT_EQ(d.size(), 17u);
}

TEST(Codec, RuntimeEnumsAreWrittenByName) {
  const json d = json::parse(normalize(Kind::Runtime, ""));
  EXPECT_EQ(d["backend"], "auto");  // not the generated C++ name auto_
  EXPECT_EQ(d["log_level"], "warn");
}

TEST(Codec, OptionalSubTableStaysAbsent) {
  // ModelInfo.quantization is gptq_optional: absent means "not quantized".
  EXPECT_TRUE(json::parse(normalize(Kind::ModelInfo, ""))["quantization"].is_null());
  EXPECT_TRUE(json::parse(normalize(Kind::ModelInfo, R"({"quantization": null})"))["quantization"]
                  .is_null());
  const json q = json::parse(normalize(Kind::ModelInfo, R"({"quantization": {}})"));
  EXPECT_EQ(q["quantization"]["bits"], 4);
  EXPECT_EQ(q["quantization"]["mse"]["grid"], 100);
}

TEST(Codec, NullMeansDefault) {
  EXPECT_EQ(
      normalize(Kind::Quantize, R"({"bits": null, "mse": null, "calibration": {"seed": null}})"),
      normalize(Kind::Quantize, ""));
}

TEST(Codec, FloatsPrintShortAndReadBackExactly) {
  const json g = json::parse(normalize(Kind::Generation, R"({"temperature": 0.1, "top_p": 0.95})"));
  // 0.1f is 0.100000001490116...; it prints as the shortest text for that float.
  EXPECT_EQ(g["temperature"].dump(), "0.1");
  EXPECT_EQ(g["top_p"].dump(), "0.95");

  // Floats that need all 9 significant digits, and doubles that need 17.
  uint32_t state = 12345;
  for (int i = 0; i < 2000; ++i) {
    state = state * 1664525u + 1013904223u;
    const float f = static_cast<float>(state % 1000000u) / 999999.0f * 0.987654321f;
    const double d = static_cast<double>(state) / 3.0 + 1e-7;
    const json in = {{"layers", {{{"damp", f}, {"loss", d}}}}};
    const json out = json::parse(normalize(Kind::QuantizeReport, in.dump()));
    const float f2 = out["layers"][0]["damp"].get<float>();
    EXPECT_EQ(std::memcmp(&f, &f2, sizeof f), 0) << f;
    EXPECT_EQ(out["layers"][0]["loss"].get<double>(), d);
  }
}

TEST(Codec, StringsKeepEscapesAndUnicode) {
  const json in = {
      {"stop",
       {std::string("a\0b", 3), "\"quoted\"\\", "\n", "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80"}}};
  const json out = json::parse(normalize(Kind::Generation, in.dump()));
  EXPECT_EQ(out["stop"], in["stop"]);
}

TEST(Codec, ExtremeIntegersFit) {
  const json out = json::parse(
      normalize(Kind::Calibration,
                R"({"token_ids": [-2147483648, 2147483647], "seed": 18446744073709551615})"));
  EXPECT_EQ(out["token_ids"][0], -2147483648LL);
  EXPECT_EQ(out["token_ids"][1], 2147483647);
  EXPECT_EQ(out["seed"].get<uint64_t>(), 18446744073709551615ull);
}

TEST(Codec, BoundsAreInclusiveAndTheOrValueIsAllowed) {
  EXPECT_NO_THROW(json_to_binary(Kind::Quantize, R"({"group_size": 16})"));
  EXPECT_NO_THROW(json_to_binary(Kind::Quantize, R"({"group_size": 1048576})"));
  EXPECT_NO_THROW(json_to_binary(Kind::Quantize, R"({"group_size": -1})"));
  for (int bits : {2, 3, 4, 8})
    EXPECT_NO_THROW(json_to_binary(Kind::Quantize, "{\"bits\": " + std::to_string(bits) + "}"));
  // Float bounds admit the float nearest to the written bound.
  EXPECT_NO_THROW(json_to_binary(Kind::Generation, R"({"repetition_penalty": 0.01})"));
  EXPECT_NO_THROW(
      json_to_binary(Kind::Quantize, R"({"damp_percent": 1, "mse": {"max_shrink": 0}})"));
  // An integer is fine for a float field.
  EXPECT_NO_THROW(json_to_binary(Kind::Generation, R"({"temperature": 2})"));
}

TEST(Codec, TrailingNulFromCCallersIsIgnored) {
  const std::string with_nul("{\"bits\": 8}\0", 12);
  EXPECT_EQ(normalize(Kind::Quantize, with_nul), normalize(Kind::Quantize, R"({"bits": 8})"));
}

TEST(Codec, UnalignedBinaryInputIsRead) {
  const std::vector<uint8_t> binary = json_to_binary(Kind::Runtime, R"({"threads": 3})");
  std::vector<uint8_t> shifted(binary.size() + 1);
  std::memcpy(shifted.data() + 1, binary.data(), binary.size());
  const std::span<const uint8_t> odd(shifted.data() + 1, binary.size());
  EXPECT_EQ(binary_to_json(Kind::Runtime, odd), normalize(Kind::Runtime, R"({"threads": 3})"));
  EXPECT_EQ(convert(Kind::Runtime, odd, Encoding::Binary, Encoding::Binary), binary);
}

TEST(Codec, JsonOutputHasNoTrailingNul) {
  const std::vector<uint8_t> out = convert(Kind::Runtime, {}, Encoding::Binary, Encoding::Json);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '}');
}

TEST(Codec, ConcurrentUseFromManyThreads) {
  // The schema is loaded once on first use, from whichever thread comes first;
  // each conversion then has its own flatbuffers parser.
  const std::string expected = normalize(Kind::Quantize, kSamples[0].json);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (normalize(Kind::Quantize, kSamples[0].json) != expected) ++mismatches[t];
        if (binary_to_json(Kind::Quantize, json_to_binary(Kind::Quantize, kSamples[0].json)) !=
            expected)
          ++mismatches[t];
      }
    });
  for (std::thread &t : threads) t.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace gptq::config
