// load_linear on HF GPTQ tensors written by our packer: v1 and v2 zero points,
// act-order g_idx, missing g_idx, bias, and the errors for wrong content.
#include "core/model/linear_weights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "core/io/safetensors_writer.h"
#include "core/gptq_format/gptq_packing.h"
#include "core/tensor/half.h"
#include "tests/core/io/io_test_support.h"

namespace gptq::model {
namespace {

constexpr std::int64_t kN = 24, kK = 64, kGroup = 16, kG = kK / kGroup;

struct Layer {
  std::vector<std::uint8_t> codes;
  std::vector<float> scales;
  std::vector<std::int32_t> zeros, g_idx;
  std::vector<float> bias;
  std::vector<float> expected;  // scale * (code - zero), with fp16-rounded scales
};

Layer random_layer(bool act_order, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Layer l;
  for (std::int64_t i = 0; i < kN * kK; ++i) l.codes.push_back(static_cast<std::uint8_t>(rng() % 16));
  for (std::int64_t i = 0; i < kG * kN; ++i) {
    l.scales.push_back(0.001f * static_cast<float>(1 + rng() % 100));
    l.zeros.push_back(static_cast<std::int32_t>(1 + rng() % 15));  // v1 stores no zero of 0
  }
  for (std::int64_t k = 0; k < kK; ++k) l.g_idx.push_back(static_cast<std::int32_t>(k / kGroup));
  if (act_order) std::shuffle(l.g_idx.begin(), l.g_idx.end(), rng);
  for (std::int64_t n = 0; n < kN; ++n) l.bias.push_back(0.5f * static_cast<float>(n));
  for (std::int64_t n = 0; n < kN; ++n)
    for (std::int64_t k = 0; k < kK; ++k) {
      const std::int64_t g = l.g_idx[static_cast<std::size_t>(k)];
      const float s = half_to_float(float_to_half(l.scales[static_cast<std::size_t>(g * kN + n)]));
      l.expected.push_back(s * (static_cast<float>(l.codes[static_cast<std::size_t>(n * kK + k)]) -
                                static_cast<float>(l.zeros[static_cast<std::size_t>(g * kN + n)])));
    }
  return l;
}

template <class T>
io::TensorSource source(const std::string &name, DType dtype, std::vector<std::int64_t> shape,
                        const std::vector<T> &v) {
  return {name, dtype, std::move(shape), std::as_bytes(std::span<const T>(v)), {}};
}

// Writes "layer.*" tensors into dir/model.safetensors.
void write_layer(const std::filesystem::path &dir, const Layer &l, quant::CheckpointFormat format,
                 bool with_g_idx) {
  const quant::PackedGptq p = quant::pack_gptq(l.codes.data(), l.scales.data(), l.zeros.data(), l.g_idx.data(),
                                               kN, kK, kG, 4, format);
  std::vector<io::TensorSource> t = {
      source("layer.qweight", DType::I32, {kK * 4 / 32, kN}, p.qweight),
      source("layer.qzeros", DType::I32, {kG, kN * 4 / 32}, p.qzeros),
      source("layer.scales", DType::F16, {kG, kN}, p.scales),
      source("layer.bias", DType::F32, {kN}, l.bias),
  };
  if (with_g_idx) t.push_back(source("layer.g_idx", DType::I32, {kK}, p.g_idx));
  io::write_safetensors(dir / "model.safetensors", t);
}

ModelSpec gptq_spec(quant::CheckpointFormat format) {
  ModelSpec s;
  s.quantization = GptqQuantizationConfig{};
  s.quantization->bits = 4;
  s.quantization->group_size = kGroup;
  s.quantization->checkpoint_format = format;
  return s;
}

class GptqLinear : public ::testing::TestWithParam<std::tuple<quant::CheckpointFormat, bool>> {};

TEST_P(GptqLinear, DequantizesWithTheConfiguredZeroConvention) {
  const auto [format, act_order] = GetParam();
  const Layer l = random_layer(act_order, 7);
  testing::TempDir dir;
  write_layer(dir.path(), l, format, true);
  const auto ckpt = io::ShardedCheckpoint::open(dir.path());
  const LinearWeights w = load_linear(ckpt, gptq_spec(format), "layer", kN, kK, true);
  EXPECT_EQ(w.weight, l.expected);
  EXPECT_EQ(w.bias, l.bias);
  // Read with the other convention, the zero points are off by one.
  const auto other = format == quant::CheckpointFormat::V2 ? quant::CheckpointFormat::V1 : quant::CheckpointFormat::V2;
  EXPECT_NE(load_linear(ckpt, gptq_spec(other), "layer", kN, kK, true).weight, l.expected);
}

INSTANTIATE_TEST_SUITE_P(FormatsAndOrder, GptqLinear,
                         ::testing::Combine(::testing::Values(quant::CheckpointFormat::V1,
                                                              quant::CheckpointFormat::V2),
                                            ::testing::Bool()));

TEST(GptqLinearLoad, MissingGIdxMeansContiguousGroups) {
  const Layer l = random_layer(false, 3);
  testing::TempDir dir;
  write_layer(dir.path(), l, quant::CheckpointFormat::V1, false);
  const auto ckpt = io::ShardedCheckpoint::open(dir.path());
  EXPECT_EQ(load_linear(ckpt, gptq_spec(quant::CheckpointFormat::V1), "layer", kN, kK, true).weight, l.expected);
}

TEST(GptqLinearLoad, ABiasTheLayerCannotHaveMustBeZero) {
  // AutoGPTQ 0.2-0.7 saved a bias on every quantized linear, zeros for Llama.
  Layer l = random_layer(false, 4);
  testing::TempDir dir;
  write_layer(dir.path(), l, quant::CheckpointFormat::V1, true);
  const auto ckpt = io::ShardedCheckpoint::open(dir.path());
  EXPECT_GPTQ_ERROR(load_linear(ckpt, gptq_spec(quant::CheckpointFormat::V1), "layer", kN, kK, false), Status::Format,
                    {"layer.bias", "element 1", "no bias"});
  std::fill(l.bias.begin(), l.bias.end(), 0.0f);
  write_layer(dir.path(), l, quant::CheckpointFormat::V1, true);
  const auto zero = io::ShardedCheckpoint::open(dir.path());
  const LinearWeights w = load_linear(zero, gptq_spec(quant::CheckpointFormat::V1), "layer", kN, kK, false);
  EXPECT_EQ(w.weight, l.expected);
  EXPECT_TRUE(w.bias.empty());
}

TEST(GptqLinearLoad, WrongShapeAndNoQuantizationConfigAreRefused) {
  const Layer l = random_layer(false, 5);
  testing::TempDir dir;
  write_layer(dir.path(), l, quant::CheckpointFormat::V1, true);
  const auto ckpt = io::ShardedCheckpoint::open(dir.path());
  try {
    load_linear(ckpt, gptq_spec(quant::CheckpointFormat::V1), "layer", kN, kK * 2, false);
    FAIL() << "a wrong in_features was accepted";
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::Format);
    EXPECT_NE(std::string(e.what()).find("layer.qweight"), std::string::npos) << e.what();
  }
  try {
    load_linear(ckpt, ModelSpec{}, "layer", kN, kK, false);
    FAIL() << "packed tensors without quantization_config were accepted";
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::Unsupported);
  }
}

TEST(FloatLinearLoad, WidensF16AndChecksTheShape) {
  std::vector<std::uint16_t> w16;
  std::vector<float> want;
  for (int i = 0; i < 6; ++i) {
    w16.push_back(float_to_half(0.25f * static_cast<float>(i) - 0.5f));
    want.push_back(0.25f * static_cast<float>(i) - 0.5f);
  }
  testing::TempDir dir;
  std::vector<io::TensorSource> t = {source("fc.weight", DType::F16, {2, 3}, w16)};
  io::write_safetensors(dir / "model.safetensors", t);
  const auto ckpt = io::ShardedCheckpoint::open(dir.path());
  EXPECT_EQ(load_linear(ckpt, ModelSpec{}, "fc", 2, 3, false).weight, want);
  EXPECT_THROW(load_linear(ckpt, ModelSpec{}, "fc", 3, 2, false), Error);
  EXPECT_THROW(load_linear(ckpt, ModelSpec{}, "fc", 2, 3, true), Error);  // no fc.bias
}

}  // namespace
}  // namespace gptq::model
