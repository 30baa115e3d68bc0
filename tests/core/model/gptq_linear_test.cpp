// Reading GPTQ linears from checkpoints written by other tools: a tiny Llama
// directory whose mlp.gate_proj holds the tensors packed by the independent
// Python packer (tests/reference/gptq_pack_ref.py, AutoGPTQ's layout; goldens
// in tests/data/quant/pack), for 2/3/4/8 bits, v1 and v2, with and without
// act-order. dequantize_linear must give the reference's dequantized weights
// exactly. Then the checks: wrong dtypes, shapes, g_idx out of range, missing
// tensors, and the fallbacks (no g_idx; float layers through load_linear).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/io/safetensors_writer.h"
#include "core/model/gptq_linear.h"
#include "core/model/model.h"
#include "core/tensor/half.h"
#include "tests/core/io/io_test_support.h"
#include "tests/support/shared_data.h"

namespace gptq::model {
namespace {

using testing::TempDir;
constexpr std::int64_t N = 32, K = 64, G = 2, GS = 32;
const std::string kGate = "model.layers.0.mlp.gate_proj";

struct Golden {
  int bits;
  std::string format;
  bool act;
  std::vector<std::int32_t> g_idx, qweight, qzeros;
  std::vector<std::uint16_t> scales;
  std::vector<float> dequant;
};

template <class T>
std::vector<T> take(std::ifstream &f, std::size_t n) {
  std::vector<T> v(n);
  f.read(reinterpret_cast<char *>(v.data()), static_cast<std::streamsize>(n * sizeof(T)));
  return v;
}

Golden load_golden(const nlohmann::json &c) {
  std::ifstream f(gptq::testing::source_dir() / "tests/data/quant/pack" / c["file"].get<std::string>(),
                  std::ios::binary);
  EXPECT_TRUE(f) << c["file"];
  Golden g;
  g.bits = c["bits"];
  g.format = c["format"];
  g.act = c["act_order"];
  const auto b = static_cast<std::size_t>(g.bits);
  take<std::uint8_t>(f, N * K);  // codes
  take<float>(f, G * N);         // float scales
  take<std::int32_t>(f, G * N);  // zeros
  g.g_idx = take<std::int32_t>(f, K);
  g.qweight = take<std::int32_t>(f, K * b / 32 * N);
  g.qzeros = take<std::int32_t>(f, G * N * b / 32);
  g.scales = take<std::uint16_t>(f, G * N);
  g.dequant = take<float>(f, N * K);
  EXPECT_TRUE(f) << "short golden file " << c["file"];
  return g;
}

std::vector<nlohmann::json> golden_cases() {
  std::ifstream f(gptq::testing::source_dir() / "tests/data/quant/pack/manifest.json");
  return nlohmann::json::parse(f)["cases"].get<std::vector<nlohmann::json>>();
}

template <class T>
io::TensorSource tensor(std::string name, DType dtype, std::vector<std::int64_t> shape,
                        const std::vector<T> &v) {
  return {std::move(name), dtype, std::move(shape), std::as_bytes(std::span<const T>(v)), {}};
}

// A one-block Llama (hidden 64, MLP 32) whose gate_proj is quantized and
// up_proj float; tensors() may be changed before open() writes them. The
// tensors point into `g`, which must outlive the checkpoint.
class TinyCheckpoint {
 public:
  // legacy: the quantization only in quantize_config.json, without
  // quant_method, as older AutoGPTQ wrote it.
  TinyCheckpoint(const Golden &g, const std::string &extra_quant_json = "", bool legacy = false) {
    nlohmann::json cfg = {
        {"model_type", "llama"}, {"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 64},
        {"intermediate_size", 32}, {"num_hidden_layers", 1}, {"num_attention_heads", 1},
        {"num_key_value_heads", 1}, {"vocab_size", 16}, {"max_position_embeddings", 64},
        {"rms_norm_eps", 1e-5}, {"torch_dtype", "float16"}};
    cfg["quantization_config"] = {{"quant_method", "gptq"}, {"bits", g.bits}, {"group_size", GS},
                                  {"desc_act", g.act}, {"sym", false}, {"checkpoint_format", g.format}};
    if (!extra_quant_json.empty()) cfg["quantization_config"].update(nlohmann::json::parse(extra_quant_json));
    if (legacy) {
      auto q = cfg["quantization_config"];
      q.erase("quant_method");
      std::ofstream(dir_ / "quantize_config.json") << q.dump();
      cfg.erase("quantization_config");
    }
    std::ofstream(dir_ / "config.json") << cfg.dump();
    const std::int64_t b = g.bits;
    up_.resize(N * K);
    for (std::size_t i = 0; i < up_.size(); ++i) up_[i] = float_to_half(static_cast<float>(i % 13) / 8.0f);
    bias_ = {0x3c00};  // 1.0
    bias_.resize(N, 0x4000);  // 2.0
    tensors_ = {tensor(kGate + ".qweight", DType::I32, {K * b / 32, N}, g.qweight),
                tensor(kGate + ".qzeros", DType::I32, {G, N * b / 32}, g.qzeros),
                tensor(kGate + ".scales", DType::F16, {G, N}, g.scales),
                tensor(kGate + ".g_idx", DType::I32, {K}, g.g_idx),
                tensor(kGate + ".bias", DType::F16, {N}, bias_),
                tensor("model.layers.0.mlp.up_proj.weight", DType::F16, {N, K}, up_)};
  }
  std::vector<io::TensorSource> &tensors() { return tensors_; }
  void erase(const std::string &name) {
    std::erase_if(tensors_, [&](const io::TensorSource &t) { return t.name == name; });
  }
  io::TensorSource &find(const std::string &name) {
    for (auto &t : tensors_)
      if (t.name == name) return t;
    throw std::runtime_error("no " + name);
  }
  void write_file(const std::string &name, const std::string &text) { std::ofstream(dir_ / name) << text; }
  std::unique_ptr<Model> open() {
    io::write_safetensors(dir_ / "model.safetensors", tensors_);
    return Model::open(dir_.path());
  }

 private:
  TempDir dir_;
  std::vector<std::uint16_t> up_, bias_;
  std::vector<io::TensorSource> tensors_;
};

TEST(GptqLinear, OtherToolsCheckpointsDequantizeExactly) {
  const auto cases = golden_cases();
  ASSERT_EQ(cases.size(), 16u);
  for (const auto &c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const Golden g = load_golden(c);
    TinyCheckpoint ckpt(g);
    const auto m = ckpt.open();
    ASSERT_TRUE(is_quantized_linear(*m, kGate));
    const LinearWeights w = dequantize_linear(*m, kGate);
    EXPECT_EQ(w.out_features, N);
    EXPECT_EQ(w.in_features, K);
    EXPECT_TRUE(w.weight == g.dequant);
    ASSERT_EQ(w.bias.size(), static_cast<std::size_t>(N));
    EXPECT_EQ(w.bias[0], 1.0f);
    EXPECT_EQ(w.bias[1], 2.0f);
    EXPECT_TRUE(load_linear(*m, kGate).weight == g.dequant);
  }
}

Golden golden(const std::string &name) {
  for (const auto &c : golden_cases())
    if (c["name"] == name) return load_golden(c);
  throw std::runtime_error("no golden " + name);
}

TEST(GptqLinear, FloatLayersLoadThroughLoadLinear) {
  const Golden g = golden("b4_gptq_seq");  // the checkpoint's tensors point into it
  TinyCheckpoint ckpt(g);
  const auto m = ckpt.open();
  EXPECT_FALSE(is_quantized_linear(*m, "model.layers.0.mlp.up_proj"));
  const LinearWeights w = load_linear(*m, "model.layers.0.mlp.up_proj");
  EXPECT_EQ(w.out_features, N);
  EXPECT_EQ(w.weight[5], 5.0f / 8.0f);
  EXPECT_TRUE(w.bias.empty());
  EXPECT_GPTQ_ERROR(load_linear(*m, "model.layers.0.mlp.down_proj"), Status::Format,
                    {"down_proj.weight", "down_proj.qweight"});
}

TEST(GptqLinear, MissingGIdxMeansContiguousGroups) {
  const Golden g = golden("b4_gptq_v2_seq");  // sequential: g_idx = k / 32
  TinyCheckpoint ckpt(g);
  ckpt.erase(kGate + ".g_idx");
  const auto m = ckpt.open();
  EXPECT_TRUE(dequantize_linear(*m, kGate).weight == g.dequant);
}

TEST(GptqLinear, LegacyQuantizeConfigJsonIsRead) {
  const Golden g = golden("b4_gptq_act");
  TinyCheckpoint ckpt(g, "", true);
  const auto m = ckpt.open();
  ASSERT_TRUE(m->spec().quantization);
  EXPECT_EQ(m->spec().quantization->bits, 4);
  EXPECT_TRUE(m->spec().quantization->desc_act);
  EXPECT_TRUE(dequantize_linear(*m, kGate).weight == g.dequant);
}

TEST(GptqLinear, WrongDtypesAndShapesNameTheTensor) {
  const Golden g = golden("b4_gptq_act");
  {
    TinyCheckpoint ckpt(g);
    ckpt.find(kGate + ".scales").dtype = DType::BF16;
    const auto m = ckpt.open();
    EXPECT_GPTQ_ERROR(dequantize_linear(*m, kGate), Status::Format,
                      {kGate + ".scales", "BF16", "expected F16"});
  }
  {
    TinyCheckpoint ckpt(g);
    auto &qz = ckpt.find(kGate + ".qzeros");
    qz.shape = {1, 2 * N * 4 / 32};  // same bytes, wrong layout
    const auto m = ckpt.open();
    EXPECT_GPTQ_ERROR(dequantize_linear(*m, kGate), Status::Format,
                      {kGate + ".qzeros", "[1, 8]", "[2, 4]"});
  }
  {
    // The config says 8 bits; the tensors are 4-bit.
    TinyCheckpoint ckpt(g, R"({"bits": 8})");
    const auto m = ckpt.open();
    EXPECT_GPTQ_ERROR(dequantize_linear(*m, kGate), Status::Format, {kGate + ".qweight", "[16, 32]"});
  }
  {
    TinyCheckpoint ckpt(g);
    ckpt.erase(kGate + ".qzeros");
    const auto m = ckpt.open();
    EXPECT_GPTQ_ERROR(dequantize_linear(*m, kGate), Status::Format, {kGate + ".qzeros", "missing"});
  }
}

TEST(GptqLinear, V1ZeroReadingFollowsTheWriterNamedInMeta) {
  auto reading = [](std::vector<GptqProducer> producers) {
    GptqQuantizationConfig q;
    q.producers = std::move(producers);
    return v1_zero_reading(q);
  };
  using R = quant::V1ZeroReading;
  EXPECT_EQ(reading({}), R::PerField);                                   // AutoGPTQ, unknown
  EXPECT_EQ(reading({{"optimum", "1.23.3"}, {"auto_gptq", "0.7.1"}}), R::PerField);
  EXPECT_EQ(reading({{"gptqmodel", "0.8.5"}}), R::PerField);             // before its v2 code
  EXPECT_EQ(reading({{"gptqmodel", "0.9.0"}}), R::GptqModelBefore7);
  EXPECT_EQ(reading({{"optimum", "1.23.3"}, {"gptqmodel", "1.4.5+cu121"}}), R::GptqModelBefore7);
  EXPECT_EQ(reading({{"gptqmodel", "6.9.9"}}), R::GptqModelBefore7);
  EXPECT_EQ(reading({{"gptqmodel", "7.0.0"}}), R::GptqModel);
  EXPECT_EQ(reading({{"gptqmodel", "7.3.4-dev"}}), R::GptqModel);
  EXPECT_EQ(reading({{"gptqmodel", "main"}}), R::GptqModel);              // unreadable: the newest

  // Through a checkpoint: the meta of quantize_config.json when config.json's has none.
  const Golden g = golden("b4_gptq_seq");
  TinyCheckpoint ckpt(g);
  ckpt.write_file("quantize_config.json",
                  R"({"bits": 4, "group_size": 32, "checkpoint_format": "gptq",
                      "meta": {"quantizer": ["gptqmodel:2.2.0"]}})");
  const auto m = ckpt.open();
  ASSERT_EQ(m->spec().quantization->producers.size(), 1u);
  EXPECT_EQ(m->spec().quantization->producers[0].tool, "gptqmodel");
  EXPECT_EQ(v1_zero_reading(*m->spec().quantization), R::GptqModelBefore7);
  // Zeros 1..15 read alike both ways: the golden's dequantization is unchanged.
  EXPECT_TRUE(dequantize_linear(*m, kGate).weight == g.dequant);
}

TEST(GptqLinear, ScalesMustBeFinite) {
  for (std::uint16_t bad : {std::uint16_t{0x7e00}, std::uint16_t{0xfc00}}) {  // NaN, -inf
    Golden g = golden("b4_gptq_seq");
    g.scales[static_cast<std::size_t>(N + 5)] = bad;
    TinyCheckpoint ckpt(g);
    const auto m = ckpt.open();
    EXPECT_GPTQ_ERROR(dequantize_linear(*m, kGate), Status::Format,
                      {kGate + ".scales", bad == 0x7e00 ? "NaN" : "infinity", "element 37 [1, 5]"});
  }
}

TEST(GptqLinear, ALayerWithWeightAndQweightIsRefused) {
  const Golden g = golden("b4_gptq_seq");
  TinyCheckpoint ckpt(g);
  const std::vector<std::uint16_t> w(N * K, 0x3c00);
  ckpt.tensors().push_back(tensor(kGate + ".weight", DType::F16, {N, K}, w));
  const auto m = ckpt.open();
  EXPECT_GPTQ_ERROR(is_quantized_linear(*m, kGate), Status::Format, {kGate + ".weight", kGate + ".qweight"});
  EXPECT_GPTQ_ERROR(load_linear(*m, kGate), Status::Format, {kGate + ".weight", kGate + ".qweight"});
}

TEST(GptqLinear, GIdxOutOfRange) {
  Golden g = golden("b4_gptq_act");
  g.g_idx[17] = 2;
  TinyCheckpoint ckpt(g);
  const auto m = ckpt.open();
  EXPECT_GPTQ_ERROR(dequantize_linear(*m, kGate), Status::Format, {"g_idx[17] = 2", "[0, 2)"});
}

TEST(GptqLinear, FloatModelsHaveNoGptqLayers) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-llama-16m");
  const auto m = Model::open(dir);
  const std::string q = "model.layers.0.self_attn.q_proj";
  EXPECT_FALSE(is_quantized_linear(*m, q));
  EXPECT_GPTQ_ERROR(dequantize_linear(*m, q), Status::Format, {"no quantization_config"});
  const LinearWeights w = load_linear(*m, q);
  EXPECT_EQ(w.out_features, 384);
  EXPECT_EQ(w.in_features, 384);
}

}  // namespace
}  // namespace gptq::model
