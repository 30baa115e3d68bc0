// The background writer packs and writes layers on its own thread: they land
// in the checkpoint as the synchronous path would put them, and a layer the
// writer refuses fails the run at the pipeline's next call, naming it.
#include "core/pipeline/background_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "core/base/error.h"
#include "core/config/typed.h"
#include "core/model/block_linears.h"
#include "core/model/model.h"
#include "tests/support/shared_data.h"

namespace gptq::quant {
namespace {

// A w4 g32 result of a layer of `n` x `k` (codes i % 16, zeros 8).
QuantResult result_of(std::int64_t n, std::int64_t k) {
  QuantResult r;
  r.bits = 4;
  r.rows = n;
  r.cols = k;
  r.groups = k / 32;
  r.codes.resize(static_cast<std::size_t>(n * k));
  for (std::size_t i = 0; i < r.codes.size(); ++i) r.codes[i] = static_cast<std::uint8_t>(i % 16);
  r.scales.assign(static_cast<std::size_t>(r.groups * n), 0.01f);
  r.zeros.assign(r.scales.size(), 8);
  r.g_idx.resize(static_cast<std::size_t>(k));
  for (std::int64_t c = 0; c < k; ++c) r.g_idx[static_cast<std::size_t>(c)] = static_cast<std::int32_t>(c / 32);
  r.dequant.assign(r.codes.size(), 0.0f);
  return r;
}

struct BackgroundWriterTest : ::testing::Test {
  void SetUp() override {
    model = model::Model::open(testing::source_dir() / "demo/docs-llama-tiny");
    out = std::filesystem::temp_directory_path() / ("gptq_background_writer_" + std::to_string(::getpid()));
    std::filesystem::remove_all(out);
  }
  void TearDown() override { std::filesystem::remove_all(out); }
  std::unique_ptr<model::Model> model;
  std::filesystem::path out;
};

TEST_F(BackgroundWriterTest, ALayerTheWriterRefusesFailsTheNextCallNamingIt) {
  const auto config = config::parse_quantize_config(R"({"bits": 4, "group_size": 32})");
  io::GptqCheckpointWriter writer(model->weights(), config, model::block_linears(model->spec()), out);
  BackgroundWriter background(writer, CheckpointFormat::V1);
  background.add("model.layers.0.no_such_proj", result_of(32, 64));
  try {
    background.drain();
    FAIL() << "a refused layer went unreported";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.0.no_such_proj"), std::string::npos) << e.what();
  }
  // And every later call says so too.
  EXPECT_THROW(background.add("model.layers.0.self_attn.q_proj", result_of(32, 64)), Error);
}

TEST_F(BackgroundWriterTest, StoppingWithLayersQueuedLeavesNoCheckpoint) {
  const auto config = config::parse_quantize_config(R"({"bits": 4, "group_size": 32})");
  {
    io::GptqCheckpointWriter writer(model->weights(), config, model::block_linears(model->spec()), out);
    BackgroundWriter background(writer, CheckpointFormat::V1);
    const auto &w = model->weights().tensor("model.layers.0.self_attn.q_proj.weight");
    for (int i = 0; i < 3; ++i)
      background.add("model.layers." + std::to_string(i) + ".self_attn.q_proj",
                     result_of(w.shape[0], w.shape[1]));
    // No drain: the run stopped (an error, a cancel) with layers queued.
  }
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace gptq::quant
