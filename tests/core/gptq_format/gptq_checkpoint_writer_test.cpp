// GptqCheckpointWriter on the real test models: quantize every block linear
// (RTN or GPTQ with a synthetic Hessian; no forward pass), write, reopen with
// Model::open, and check the layout (names, dtypes, shapes, shards, config
// fields, copied files), the exact dequantized weights, untouched float
// tensors, v1/v2, act-order; then directory atomicity, overwrite,
// cancellation and the errors.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/config/typed.h"
#include "core/gptq_format/gptq_checkpoint_writer.h"
#include "core/model/block_linears.h"
#include "core/model/gptq_linear.h"
#include "core/model/model.h"
#include "core/tensor/convert.h"
#include "tests/core/gptq_format/gptq_checkpoint_test_support.h"
#include "tests/core/io/io_test_support.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"

namespace gptq::io {
namespace {

using testing::Method;
using testing::TempDir;

nlohmann::json read_json(const std::filesystem::path &p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

std::vector<std::byte> bytes_of(const TensorView &v) { return {v.data.begin(), v.data.end()}; }

struct Case {
  const char *model;
  const char *config;
  Method method;
  quant::CheckpointFormat pack_format;  // as handed to the writer
  std::uint64_t max_shard_bytes;
};

class RoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(RoundTrip, ReopensWithTheSameWeights) {
  const Case &c = GetParam();
  GPTQ_REQUIRE_SHARED(src_dir, std::string("models/") + c.model);
  const auto source = model::Model::open(src_dir);
  const auto config = config::parse_quantize_config(c.config);
  TempDir tmp;
  const auto out = tmp / "quantized";
  std::map<std::string, quant::QuantResult> results;
  {
    GptqCheckpointOptions options;
    options.max_shard_bytes = c.max_shard_bytes;
    GptqCheckpointWriter writer(source->weights(), config, model::block_linears(source->spec()), out, options);
    results = testing::quantize_into(*source, config, c.method, writer, c.pack_format);
    writer.finish();
  }
  // Nothing beside the output: the staging directory was renamed into place.
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"quantized"});

  // Files: configs, copied tokenizer/generation files, shards (+ index).
  std::set<std::string> files;
  for (const auto &e : std::filesystem::directory_iterator(out)) files.insert(e.path().filename().string());
  for (const char *f : {"config.json", "quantize_config.json", "tokenizer.json",
                        "tokenizer_config.json", "generation_config.json"})
    EXPECT_TRUE(files.count(f)) << f;
  for (const char *f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
    std::ifstream a(src_dir / f), b(out / f);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(a), {}),
              std::string(std::istreambuf_iterator<char>(b), {}))
        << f;
  }
  const bool sharded = c.max_shard_bytes != 0;
  EXPECT_EQ(files.count("model.safetensors.index.json"), sharded ? 1u : 0u);
  EXPECT_EQ(files.count("model.safetensors"), sharded ? 0u : 1u);
  for (const auto &f : files) EXPECT_EQ(f.find(".tmp"), std::string::npos) << f;

  // config.json: the source's, plus quantization_config; quantize_config.json the same object.
  auto cfg = read_json(out / "config.json");
  const auto q = cfg["quantization_config"];
  EXPECT_EQ(q, read_json(out / "quantize_config.json"));
  EXPECT_EQ(q["quant_method"], "gptq");
  EXPECT_EQ(q["bits"], config.bits);
  EXPECT_EQ(q["group_size"], config.group_size);
  EXPECT_EQ(q["desc_act"], config.desc_act);
  EXPECT_EQ(q["sym"], config.sym);
  EXPECT_EQ(q["static_groups"], config.static_groups);
  EXPECT_EQ(q["true_sequential"], config.true_sequential);
  EXPECT_EQ(q["damp_percent"], 0.05);  // the shortest decimal of the float, as Python writes it
  EXPECT_EQ(q["checkpoint_format"],
            config.checkpoint_format == schema::CheckpointFormat::gptq_v2 ? "gptq_v2" : "gptq");
  EXPECT_EQ(q["lm_head"], false);
  EXPECT_FALSE(q.contains("modules_in_block_to_quantize"));
  cfg.erase("quantization_config");
  EXPECT_EQ(cfg, read_json(src_dir / "config.json"));

  // Reopened: the spec has the quantization; every tensor is where it belongs.
  const auto m = model::Model::open(out);
  ASSERT_TRUE(m->spec().quantization);
  EXPECT_EQ(m->spec().quantization->bits, config.bits);
  EXPECT_EQ(m->spec().quantization->desc_act, config.desc_act);
  EXPECT_EQ(quant::checkpoint_format_name(m->spec().quantization->checkpoint_format), q["checkpoint_format"].get<std::string>());
  EXPECT_EQ(m->weights().shard_count() > 1, sharded);
  std::set<std::string> expected_names;
  for (const auto &name : source->weights().tensor_names()) {
    const auto dot = name.rfind('.');
    const std::string owner = name.substr(0, dot), leaf = name.substr(dot + 1);
    if (!results.count(owner)) {
      expected_names.insert(name);
      // Float tensors are copied byte for byte.
      const auto a = source->weights().tensor(name), b = m->weights().tensor(name);
      EXPECT_EQ(a.dtype, b.dtype) << name;
      EXPECT_EQ(a.shape, b.shape) << name;
      EXPECT_TRUE(bytes_of(a) == bytes_of(b)) << name;
    } else if (leaf == "bias") {
      expected_names.insert(name);
    }
  }
  for (const auto &[prefix, r] : results) {
    const int b = r.bits;
    for (const char *leaf : {".qweight", ".qzeros", ".scales", ".g_idx"}) expected_names.insert(prefix + leaf);
    const auto qw = m->weights().tensor(prefix + ".qweight");
    EXPECT_EQ(qw.dtype, DType::I32);
    EXPECT_EQ(qw.shape, (std::vector<std::int64_t>{r.cols * b / 32, r.rows}));
    const auto qz = m->weights().tensor(prefix + ".qzeros");
    EXPECT_EQ(qz.dtype, DType::I32);
    EXPECT_EQ(qz.shape, (std::vector<std::int64_t>{r.groups, r.rows * b / 32}));
    const auto sc = m->weights().tensor(prefix + ".scales");
    EXPECT_EQ(sc.dtype, DType::F16);
    EXPECT_EQ(sc.shape, (std::vector<std::int64_t>{r.groups, r.rows}));
    const auto gi = m->weights().tensor(prefix + ".g_idx");
    EXPECT_EQ(gi.dtype, DType::I32);
    EXPECT_EQ(gi.shape, (std::vector<std::int64_t>{r.cols}));
    // Packed exactly as the packer packs in the config's format.
    const auto packed = quant::pack_gptq(r, quant::checkpoint_format(config));
    ASSERT_EQ(qz.data.size(), packed.qzeros.size() * 4);
    EXPECT_EQ(std::memcmp(qz.data.data(), packed.qzeros.data(), qz.data.size()), 0) << prefix;

    const model::LinearWeights w = model::dequantize_linear(*m, prefix);
    EXPECT_EQ(w.out_features, r.rows);
    EXPECT_EQ(w.in_features, r.cols);
    EXPECT_TRUE(w.weight == testing::expected_dequant(r)) << prefix;
    if (const auto src_bias = source->weights().find(prefix + ".bias")) {
      EXPECT_EQ(m->weights().tensor(prefix + ".bias").dtype, DType::F16);
      std::vector<float> want = to_float(src_bias->dtype, src_bias->data);
      for (auto &v : want) v = half_to_float(float_to_half(v));
      EXPECT_EQ(w.bias, want) << prefix;
    } else {
      EXPECT_TRUE(w.bias.empty());
    }
  }
  const auto &names = m->weights().tensor_names();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), expected_names);
  // Act-order with GPTQ really permutes: some g_idx is out of order.
  if (config.desc_act && c.method == Method::GptqSynthetic && config.group_size > 0) {
    bool permuted = false;
    for (const auto &[prefix, r] : results)
      permuted = permuted || !std::is_sorted(r.g_idx.begin(), r.g_idx.end());
    EXPECT_TRUE(permuted);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, RoundTrip,
    ::testing::Values(
        // The layers are packed in the format given here and converted by the
        // writer when the config's differs (an asymmetric v2 layer may hold
        // zeros of 0, which v1 refuses, so only v1 configs convert those).
        Case{"docs-opt-15m", R"({"bits": 4, "group_size": 128, "desc_act": false})", Method::Rtn,
             quant::CheckpointFormat::V2, 0},
        Case{"docs-llama-16m",
             R"({"bits": 4, "group_size": 128, "desc_act": true, "sym": false,
                 "checkpoint_format": "gptq_v2"})",
             Method::GptqSynthetic, quant::CheckpointFormat::V2, 4'000'000},
        Case{"docs-llama-16m", R"({"bits": 3, "group_size": -1, "sym": false})", Method::Rtn,
             quant::CheckpointFormat::V2, 0},
        Case{"docs-opt-15m",
             R"({"bits": 8, "group_size": 64, "desc_act": true, "checkpoint_format": "gptq_v2"})",
             Method::GptqSynthetic, quant::CheckpointFormat::V1, 10'000'000}),
    [](const auto &p) { return "case" + std::to_string(p.index); });

// A writer for the OPT model with RTN 4-bit per-channel, shared by the tests below.
class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto dir = gptq::testing::shared_path("models/docs-opt-15m");
    if (!std::filesystem::exists(dir)) GTEST_SKIP() << "shared model missing: " << dir;
    source_ = model::Model::open(dir);
  }
  std::unique_ptr<model::Model> source_;
  schema::QuantizeConfigT config_ = config::parse_quantize_config(R"({"group_size": -1, "desc_act": false})");
  TempDir tmp_;
};

TEST_F(WriterTest, AbandonedWriterLeavesNothing) {
  {
    GptqCheckpointWriter writer(source_->weights(), config_, model::block_linears(source_->spec()), tmp_ / "out");
    testing::quantize_into(*source_, config_, Method::Rtn, writer, quant::CheckpointFormat::V1);
    EXPECT_EQ(tmp_.entries().size(), 1u);  // the staging directory
  }
  EXPECT_TRUE(tmp_.entries().empty());
}

TEST_F(WriterTest, CancellationLeavesNothing) {
  {
    GptqCheckpointWriter writer(source_->weights(), config_, model::block_linears(source_->spec()), tmp_ / "out");
    testing::quantize_into(*source_, config_, Method::Rtn, writer, quant::CheckpointFormat::V1);
    int calls = 0;
    Progress cancel([&calls](std::string_view stage, std::uint64_t, std::uint64_t) {
      EXPECT_EQ(stage, "write checkpoint");
      return ++calls < 3;
    });
    EXPECT_GPTQ_ERROR(writer.finish(cancel), Status::Cancelled, {"write checkpoint"});
  }
  EXPECT_TRUE(tmp_.entries().empty());
}

TEST_F(WriterTest, ExistingOutputIsRefusedUnlessOverwriting) {
  const auto out = tmp_ / "out";
  std::filesystem::create_directories(out);
  EXPECT_GPTQ_ERROR(GptqCheckpointWriter(source_->weights(), config_, model::block_linears(source_->spec()), out), Status::InvalidArgument,
                    {out.string(), "already exists", "overwrite"});
  GptqCheckpointOptions options;
  options.overwrite = true;
  auto write = [&] {
    GptqCheckpointWriter writer(source_->weights(), config_, model::block_linears(source_->spec()), out, options);
    testing::quantize_into(*source_, config_, Method::Rtn, writer, quant::CheckpointFormat::V1);
    writer.finish();
  };
  write();  // an empty directory is replaced
  EXPECT_TRUE(std::filesystem::exists(out / "config.json"));
  EXPECT_EQ(why_not_libgptq_checkpoint(out), std::nullopt);
  {
    GptqCheckpointWriter writer(source_->weights(), config_, model::block_linears(source_->spec()), out, options);  // so is a checkpoint of ours
    testing::quantize_into(*source_, config_, Method::Rtn, writer, quant::CheckpointFormat::V1);
    std::ofstream(out / "marker") << "x";  // ... unless it holds something else by the time it is replaced
    EXPECT_GPTQ_ERROR(writer.finish(), Status::InvalidArgument, {"marker", "libgptq does not write"});
  }
  EXPECT_TRUE(std::filesystem::exists(out / "marker"));
  std::filesystem::remove(out / "marker");
  write();
  EXPECT_EQ(tmp_.entries(), std::vector<std::string>{"out"});
  // A file in the way is never replaced.
  std::ofstream(tmp_ / "file") << "x";
  EXPECT_GPTQ_ERROR(GptqCheckpointWriter(source_->weights(), config_, model::block_linears(source_->spec()), tmp_ / "file", options),
                    Status::InvalidArgument, {"not a directory"});
}

TEST_F(WriterTest, ReplacesOnlyItsOwnCheckpoints) {
  GptqCheckpointOptions options;
  options.overwrite = true;
  const auto out = tmp_ / "out";
  std::filesystem::create_directories(out / "sub");
  EXPECT_GPTQ_ERROR(GptqCheckpointWriter(source_->weights(), config_, model::block_linears(source_->spec()), out, options), Status::InvalidArgument,
                    {"refusing to replace", "sub, which is a directory"});
  std::filesystem::remove(out / "sub");
  std::ofstream(out / "notes.txt") << "mine";
  EXPECT_GPTQ_ERROR(GptqCheckpointWriter(source_->weights(), config_, model::block_linears(source_->spec()), out, options), Status::InvalidArgument,
                    {"notes.txt, a file libgptq does not write"});
  std::filesystem::remove(out / "notes.txt");
  // The names we write, but not our mark: another tool's checkpoint, or a float model.
  std::ofstream(out / "config.json") << "{}";
  std::ofstream(out / "model.safetensors") << "";
  std::ofstream(out / "quantize_config.json") << R"({"bits": 4, "meta": {"quantizer": ["gptqmodel:2.0.0"]}})";
  EXPECT_GPTQ_ERROR(GptqCheckpointWriter(source_->weights(), config_, model::block_linears(source_->spec()), out, options), Status::InvalidArgument,
                    {"not a checkpoint written by libgptq", "meta.quantizer"});
  std::filesystem::remove(out / "quantize_config.json");
  EXPECT_GPTQ_ERROR(GptqCheckpointWriter(source_->weights(), config_, model::block_linears(source_->spec()), out, options), Status::InvalidArgument,
                    {"not a checkpoint written by libgptq", "quantize_config.json"});
  std::filesystem::create_symlink("config.json", out / "quantize_config.json");
  EXPECT_GPTQ_ERROR(GptqCheckpointWriter(source_->weights(), config_, model::block_linears(source_->spec()), out, options), Status::InvalidArgument,
                    {"quantize_config.json, which is a symbolic link"});
  EXPECT_EQ(tmp_.entries(), std::vector<std::string>{"out"});
}

TEST_F(WriterTest, RefusesTheSourceDirectoryAndQuantizedSources) {
  GptqCheckpointOptions options;
  options.overwrite = true;
  EXPECT_GPTQ_ERROR(GptqCheckpointWriter(source_->weights(), config_, model::block_linears(source_->spec()), source_->directory(), options),
                    Status::InvalidArgument, {"is the source model's directory"});
  EXPECT_GPTQ_ERROR(GptqCheckpointWriter(source_->weights(), config_, model::block_linears(source_->spec()), source_->directory().parent_path(), options),
                    Status::InvalidArgument, {"contains the source model's directory"});
  const auto out = tmp_ / "q";
  {
    GptqCheckpointWriter writer(source_->weights(), config_, model::block_linears(source_->spec()), out);
    testing::quantize_into(*source_, config_, Method::Rtn, writer, quant::CheckpointFormat::V1);
    writer.finish();
  }
  const auto quantized = model::Model::open(out);
  EXPECT_GPTQ_ERROR(GptqCheckpointWriter(quantized->weights(), config_, model::block_linears(quantized->spec()), tmp_ / "again"), Status::InvalidArgument,
                    {"already a GPTQ checkpoint"});
}

TEST_F(WriterTest, BadLayersAreRefusedNamingThem) {
  GptqCheckpointWriter writer(source_->weights(), config_, model::block_linears(source_->spec()), tmp_ / "out");
  const std::string fc1 = "model.decoder.layers.0.fc1";
  const auto w = model::load_linear(*source_, fc1);
  const auto opt = quant::quant_options(config_);
  const auto r = quant::rtn_matrix(test_compute(), w.weight.data(), w.out_features, w.in_features, opt);
  const auto packed = quant::pack_gptq(r, quant::CheckpointFormat::V1);
  EXPECT_GPTQ_ERROR(writer.add_quantized("model.decoder.layers.0.nope", packed),
                    Status::InvalidArgument, {"model.decoder.layers.0.nope.weight"});
  EXPECT_GPTQ_ERROR(writer.add_quantized("model.decoder.layers.0.fc2", packed),
                    Status::InvalidArgument, {"layers.0.fc2", "[1536, 384]", "[384, 1536]"});
  writer.add_quantized(fc1, packed);
  EXPECT_GPTQ_ERROR(writer.add_quantized(fc1, packed), Status::InvalidArgument, {fc1, "twice"});
  auto other_bits = opt;
  other_bits.bits = 8;
  const auto r8 = quant::rtn_matrix(test_compute(), w.weight.data(), w.out_features, w.in_features, other_bits);
  EXPECT_GPTQ_ERROR(writer.add_quantized("model.decoder.layers.1.fc1", quant::pack_gptq(r8, quant::CheckpointFormat::V1)),
                    Status::InvalidArgument, {"8 bits", "config says 4"});
  auto grouped = opt;
  grouped.group_size = 128;
  const auto rg = quant::rtn_matrix(test_compute(), w.weight.data(), w.out_features, w.in_features, grouped);
  EXPECT_GPTQ_ERROR(writer.add_quantized("model.decoder.layers.1.fc1", quant::pack_gptq(rg, quant::CheckpointFormat::V1)),
                    Status::InvalidArgument, {"3 groups"});
  // Most linears were never added.
  EXPECT_GPTQ_ERROR(writer.finish(), Status::InvalidArgument,
                    {"model.decoder.layers.0.self_attn.k_proj", "modules_to_skip"});
}

TEST_F(WriterTest, UniformSkipsBecomeModulesInBlockToQuantize) {
  config_ = config::parse_quantize_config(R"({"desc_act": false, "modules_to_skip": ["fc2", "self_attn.out_proj"]})");
  const auto out = tmp_ / "out";
  {
    GptqCheckpointWriter writer(source_->weights(), config_, model::block_linears(source_->spec()), out);
    const auto results = testing::quantize_into(*source_, config_, Method::Rtn, writer, quant::CheckpointFormat::V1);
    EXPECT_EQ(results.size(), 6u * 4u);
    writer.finish();
  }
  const auto q = read_json(out / "config.json")["quantization_config"];
  EXPECT_EQ(q["modules_in_block_to_quantize"],
            nlohmann::json::parse(R"([["self_attn.k_proj", "self_attn.v_proj", "self_attn.q_proj"], ["fc1"]])"));
  EXPECT_FALSE(q.contains("dynamic"));
  const auto m = model::Model::open(out);
  EXPECT_TRUE(m->weights().contains("model.decoder.layers.2.fc2.weight"));  // float, as in the source
  const auto w = model::load_linear(*m, "model.decoder.layers.2.fc2");
  EXPECT_EQ(w.out_features, 384);
  EXPECT_FALSE(model::is_quantized_linear(*m, "model.decoder.layers.2.fc2"));
  EXPECT_TRUE(model::is_quantized_linear(*m, "model.decoder.layers.2.fc1"));
}

TEST_F(WriterTest, PerBlockSkipsBecomeDynamicRules) {
  config_ = config::parse_quantize_config(
      R"({"desc_act": false, "modules_to_skip": ["model.decoder.layers.0.fc2"]})");
  const auto out = tmp_ / "out";
  {
    GptqCheckpointWriter writer(source_->weights(), config_, model::block_linears(source_->spec()), out);
    testing::quantize_into(*source_, config_, Method::Rtn, writer, quant::CheckpointFormat::V1);
    writer.finish();
  }
  const auto q = read_json(out / "quantize_config.json");
  EXPECT_EQ(q["modules_in_block_to_quantize"].size(), 4u);  // every group still quantized somewhere
  EXPECT_EQ(q["dynamic"], nlohmann::json::parse(R"({"-:^model\\.decoder\\.layers\\.0\\.fc2$": {}})"));
}

}  // namespace
}  // namespace gptq::io
