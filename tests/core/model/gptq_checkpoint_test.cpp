// A whole GPTQ checkpoint through the model loader: docs-llama-16m with every
// block linear RTN-quantized (4-bit, groups of 128, asymmetric) and written in
// the HF GPTQ layout (v1 or v2 zero points) beside its quantization_config.
// Forward on it must give exactly the logits of the float model with each
// linear's weight replaced by the same dequantized values (the BlockWeights
// mutation the calibration pipeline uses).
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/io/safetensors_writer.h"
#include "core/model/forward.h"
#include "core/model/model.h"
#include "core/pipeline/pack_result.h"
#include "core/quant/rtn.h"
#include "tests/core/io/io_test_support.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"

namespace gptq::model {
namespace {

struct PackedLinear {
  quant::PackedGptq packed;
  std::vector<float> dequant;
};

class GptqCheckpoint : public ::testing::TestWithParam<quant::CheckpointFormat> {};

TEST_P(GptqCheckpoint, LoadsAsTheDequantizedFloatModel) {
  GPTQ_REQUIRE_SHARED(src, "models/docs-llama-16m");
  const auto float_model = Model::open(src);
  const ModelSpec &spec = float_model->spec();
  const io::ShardedCheckpoint &ckpt = float_model->weights();
  const bool v2 = GetParam() == quant::CheckpointFormat::V2;

  // Quantize every block linear; keep the packed tensors alive for the writer.
  std::map<std::string, PackedLinear> linears;  // by prefix
  quant::QuantOptions opt;
  opt.bits = 4;
  opt.group_size = 128;
  opt.sym = false;
  opt.positive_zero = !v2;  // v1 stores no zero of 0 (core/gptq_format/gptq_packing.h)
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    const BlockWeights w = load_block_weights(spec, ckpt, layer);
    for (const auto &[name, lin] : w.linears) {
      const quant::QuantResult r = quant::rtn_quantize(test_compute(), lin.weight.data(), lin.out_features, lin.in_features, opt);
      PackedLinear p{quant::pack_gptq(r, GetParam()), {}};
      p.dequant = quant::dequantize_gptq(p.packed);
      linears.emplace(block_prefix(*spec.arch, layer) + name, std::move(p));
    }
  }
  std::vector<io::TensorSource> tensors;
  for (const std::string &name : ckpt.tensor_names()) {
    const std::string prefix = name.substr(0, name.rfind('.'));
    auto it = linears.find(prefix);
    if (it == linears.end()) {
      const io::TensorView t = ckpt.tensor(name);
      tensors.push_back({name, t.dtype, t.shape, t.data, {}});
      continue;
    }
    const quant::PackedGptq &p = it->second.packed;
    const std::int64_t n = p.out_features, k = p.in_features, g = p.groups;
    tensors.push_back({prefix + ".qweight", DType::I32, {k / 8, n}, std::as_bytes(std::span(p.qweight)), {}});
    tensors.push_back({prefix + ".qzeros", DType::I32, {g, n / 8}, std::as_bytes(std::span(p.qzeros)), {}});
    tensors.push_back({prefix + ".scales", DType::F16, {g, n}, std::as_bytes(std::span(p.scales)), {}});
    tensors.push_back({prefix + ".g_idx", DType::I32, {k}, std::as_bytes(std::span(p.g_idx)), {}});
  }
  testing::TempDir dir;
  io::write_safetensors(dir / "model.safetensors", tensors);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(src / "config.json"));
  config["quantization_config"] = {{"quant_method", "gptq"}, {"bits", 4},      {"group_size", 128},
                                   {"desc_act", false},      {"sym", false},   {"checkpoint_format", v2 ? "gptq_v2" : "gptq"}};
  std::ofstream(dir / "config.json") << config.dump();
  std::filesystem::copy_file(src / "tokenizer.json", dir / "tokenizer.json");

  const auto gptq_model = Model::open(dir.path());
  ASSERT_TRUE(gptq_model->spec().quantization.has_value());
  const Forward quantized(gptq_model->spec(), gptq_model->weights());

  const std::vector<std::int32_t> ids = float_model->tokenizer()->encode("To create a table in PostgreSQL, use the");
  const auto seq = static_cast<std::int64_t>(ids.size());
  const GlobalWeights globals = load_global_weights(spec, ckpt);
  Matrix hidden = embed(test_compute(), spec, globals, ids, 1, seq);
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    BlockWeights w = load_block_weights(spec, ckpt, layer);
    for (auto &[name, lin] : w.linears) {
      lin.weight = linears.at(block_prefix(*spec.arch, layer) + name).dequant;
      EXPECT_EQ(quantized.block(layer).linear(name).weight, lin.weight) << layer << " " << name;
    }
    block_forward(test_compute(), spec, w, hidden, 1, seq);
  }
  EXPECT_EQ(quantized.run(test_compute(), ids, 1, seq).data, logits(test_compute(), spec, globals, hidden).data);
}

INSTANTIATE_TEST_SUITE_P(Formats, GptqCheckpoint,
                         ::testing::Values(quant::CheckpointFormat::V1, quant::CheckpointFormat::V2));

}  // namespace
}  // namespace gptq::model
