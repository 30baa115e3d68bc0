// The backend plugin table v3 end to end, with a fake plugin built in the
// tests (fake_plugin.cpp) loaded through the loader's $GPTQ_CUDA_PLUGIN:
// out of memory in the plugin surfaces from the C API as
// GPTQ_ERR_OUT_OF_MEMORY with the plugin's words; a plugin whose engine
// entries are NULL still makes a usable "cuda" context whose quantization
// and evaluation run on the CPU, the fallback logged once per engine; a
// plugin with the forward group gets the model from the core (spec, float
// tensors, GPTQ linears unpacked) and runs it, the core checking ids and
// cache positions first, and the calibration forward stays on the CPU.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/backend/backend_loader.h"
#include "core/backend/forward_engine.h"
#include "core/cpu/thread_pool.h"
#include "core/model/block_weights.h"
#include "core/model/model.h"
#include "tests/support/quantize_shared.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "gptq/gptq.h"
#include "tests/support/shared_data.h"

namespace fs = std::filesystem;

namespace {

struct Lines {
  std::vector<std::string> lines;
  int count(const std::string &needle) const {
    int n = 0;
    for (const auto &l : lines) n += l.find(needle) != std::string::npos;
    return n;
  }
};

void collect(void *user, gptq_log_level, const char *msg) { static_cast<Lines *>(user)->lines.emplace_back(msg); }

class FakePlugin : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("GPTQ_CUDA_PLUGIN", GPTQ_FAKE_PLUGIN_PATH, 1); }
  void TearDown() override {
    ::unsetenv("GPTQ_CUDA_PLUGIN");
    ::unsetenv("GPTQ_FAKE_PLUGIN_MODE");
  }
  static void mode(const char *m) { ::setenv("GPTQ_FAKE_PLUGIN_MODE", m, 1); }
};

fs::path demo(const char *relative) { return gptq::testing::source_dir() / "demo" / relative; }

TEST_F(FakePlugin, OutOfMemoryInOpenIsOutOfMemoryWithThePluginsMessage) {
  mode("oom");
  gptq_context *ctx = nullptr;
  EXPECT_EQ(gptq_context_create(R"({"backend": "cuda"})", &ctx), GPTQ_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(ctx, nullptr);
  const std::string msg = gptq_last_error();
  EXPECT_NE(msg.find("3221225472 bytes of workspace requested, 1073741824 free"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cuda: opening device 0"), std::string::npos) << msg;
}

TEST_F(FakePlugin, AutoFallsBackToTheCpuWhenThePluginRunsOutOfMemory) {
  mode("oom");
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "auto", "log_level": "info"})", &ctx), GPTQ_OK) << gptq_last_error();
  Lines lines;
  ASSERT_EQ(gptq_context_set_log(ctx, collect, &lines), GPTQ_OK);
  const char *name = nullptr;
  ASSERT_EQ(gptq_context_backend(ctx, &name), GPTQ_OK);
  EXPECT_STREQ(name, "cpu");
  EXPECT_EQ(lines.count("3221225472 bytes of workspace requested"), 1);
  gptq_context_destroy(ctx);
}

TEST_F(FakePlugin, AStatusOutsideTheListIsInternal) {
  mode("bad");
  gptq_context *ctx = nullptr;
  EXPECT_EQ(gptq_context_create(R"({"backend": "cuda"})", &ctx), GPTQ_ERR_INTERNAL);
  const std::string msg = gptq_last_error();
  EXPECT_NE(msg.find("fake self-test says no"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown plugin status 42"), std::string::npos) << msg;
}

TEST_F(FakePlugin, NullEnginesRunOnTheCpuAndSaySoOnce) {
  mode("ok");
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cuda", "threads": 2, "log_level": "debug"})", &ctx), GPTQ_OK)
      << gptq_last_error();
  Lines lines;
  ASSERT_EQ(gptq_context_set_log(ctx, collect, &lines), GPTQ_OK);
  const char *name = nullptr;
  ASSERT_EQ(gptq_context_backend(ctx, &name), GPTQ_OK);
  EXPECT_STREQ(name, "cuda");
  EXPECT_EQ(lines.count("cuda: fake device opened"), 1) << "the plugin's log line goes to the context's log";
  EXPECT_EQ(lines.count("backend: cuda on Fake Device"), 1);
  EXPECT_EQ(lines.count("backend: 1.00 GiB of 2.00 GiB device memory free"), 1) << "memory_info";

  const std::string text = "The quick brown fox jumps over the lazy dog. The quick brown fox jumps again.";
  // The EvalReport of the demo model on `text` in context c.
  const auto evaluate = [&](gptq_context *c) {
    gptq_model *model = nullptr;
    EXPECT_EQ(gptq_model_open(c, demo("docs-llama-tiny").c_str(), &model), GPTQ_OK) << gptq_last_error();
    const char *report = nullptr;
    EXPECT_EQ(gptq_evaluate(c, model, text.data(), text.size(), R"({"seqlen": 8, "max_windows": 2})", nullptr,
                            nullptr, &report),
              GPTQ_OK)
        << gptq_last_error();
    nlohmann::json r = report ? nlohmann::json::parse(report) : nlohmann::json();
    gptq_model_destroy(model);
    return r;
  };
  const nlohmann::json first = evaluate(ctx), second = evaluate(ctx);
  ASSERT_TRUE(first.contains("ppl") && second.contains("ppl"));
  EXPECT_EQ(first["ppl"], second["ppl"]);
  EXPECT_GT(first["ppl"].get<double>(), 1.0);
  EXPECT_EQ(first["backend"], "cpu") << "the report names the engine that ran";
  EXPECT_EQ(lines.count("backend cuda has no forward engine"), 1) << "logged once per context";

  // The same perplexity on a CPU context: the fallback is the CPU engine itself.
  gptq_context *cpu = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu", "threads": 2})", &cpu), GPTQ_OK);
  EXPECT_EQ(evaluate(cpu)["ppl"], first["ppl"]);
  gptq_context_destroy(cpu);

  // Quantization: the report names the backend that ran it.
  const fs::path out = fs::temp_directory_path() / ("gptq_fake_plugin_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const char *report = nullptr;
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(gptq_quantize_model(ctx, demo("docs-llama-tiny").c_str(), R"({"method": "rtn", "overwrite": true})",
                                  out.c_str(), nullptr, nullptr, &report),
              GPTQ_OK)
        << gptq_last_error();
  }
  const std::string r = report;
  EXPECT_NE(r.find("\"backend\": \"cpu\""), std::string::npos) << r;
  EXPECT_EQ(lines.count("backend cuda has no quantize engine"), 1) << "logged once per context";
  fs::remove_all(out);
  gptq_context_destroy(ctx);
}

TEST_F(FakePlugin, TheForwardGroupGetsTheModelFromTheCoreAndRunsIt) {
  mode("forward");
  gptq::Logger log(gptq::LogLevel::Debug);
  Lines lines;
  log.set_sink([&](gptq::LogLevel, const std::string &m) { lines.lines.push_back(m); });
  const auto backend = gptq::open_cuda_backend(0, log);
  const gptq::ForwardEngine *engine = backend->forward_engine();
  ASSERT_NE(engine, nullptr) << "a plugin with every forward entry has a forward engine";
  EXPECT_EQ(engine->backend(), "cuda");

  // Float: 6 blocks of 2 norms and 7 linears, plus embeddings, final norm and lm_head.
  const auto model = gptq::model::Model::open(demo("docs-llama-tiny"));
  const auto prepared = engine->prepare(model->spec(), model->weights());
  EXPECT_EQ(lines.count("fake model llama: 6 layers, 57 dense tensors, 0 GPTQ linears"), 1);
  // Quantized (round-to-nearest, 4 bits, on the CPU): the 42 block linears go over unpacked.
  const fs::path q = gptq::testing::quantize_shared_model(demo("docs-llama-tiny"), {{"method", "rtn"}}, "fake_fwd");
  {
    const auto qmodel = gptq::model::Model::open(q);
    (void)engine->prepare(qmodel->spec(), qmodel->weights());
    EXPECT_EQ(lines.count("fake model llama: 6 layers, 15 dense tensors, 42 GPTQ linears of 4 bits"), 1);
  }
  fs::remove_all(q);

  gptq::ThreadPool pool(1);
  const gptq::Compute compute(pool);
  const std::int64_t vocab = model->spec().vocab_size;
  const auto argmax = [&](const gptq::Matrix &m, std::int64_t row) {
    return std::max_element(m.row(row), m.row(row) + vocab) - m.row(row);
  };
  const std::int32_t ids[] = {5, 6, 7, 8};
  const gptq::Matrix all = engine->run(compute, *prepared, ids, 2, 2, nullptr, false);
  ASSERT_EQ(all.rows, 4);
  for (std::int64_t r = 0; r < 4; ++r) EXPECT_EQ(argmax(all, r), ids[r] + 1) << "row " << r;

  auto cache = engine->make_cache(*prepared, 1, 8);
  const gptq::Matrix last = engine->run(compute, *prepared, std::span(ids, 3), 1, 3, cache.get(), true);
  ASSERT_EQ(last.rows, 1);
  EXPECT_EQ(argmax(last, 0), 8);
  EXPECT_EQ(cache->length(), 3);
  // Refused by the core before the plugin sees them; the cache is unchanged.
  const std::int32_t bad[] = {static_cast<std::int32_t>(vocab)};
  try {
    (void)engine->run(compute, *prepared, bad, 1, 1, cache.get(), true);
    ADD_FAILURE() << "an id outside the vocabulary ran";
  } catch (const gptq::Error &e) {
    EXPECT_EQ(e.status(), gptq::Status::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos) << e.what();
  }
  const std::int32_t six[] = {1, 2, 3, 4, 5, 6};
  EXPECT_THROW((void)engine->run(compute, *prepared, six, 1, 6, cache.get(), true), gptq::Error);
  EXPECT_EQ(cache->length(), 3);
  // The plugin's out of memory, with its words.
  try {
    (void)engine->make_cache(*prepared, 1, 5000);
    ADD_FAILURE() << "the fake cache above 4096 positions was made";
  } catch (const gptq::Error &e) {
    EXPECT_EQ(e.status(), gptq::Status::OutOfMemory);
    EXPECT_NE(std::string(e.what()).find("5120000 bytes asked, 1073741824 free"), std::string::npos) << e.what();
  }

  // The calibration forward runs on the CPU, said once.
  const gptq::model::GlobalWeights globals = gptq::model::load_global_weights(model->spec(), model->weights());
  for (int i = 0; i < 2; ++i) {
    const auto hidden = engine->embed(compute, model->spec(), globals, ids, 1, 4);
    EXPECT_EQ(hidden->rows(), 4);
  }
  EXPECT_EQ(lines.count("cuda has no block-by-block forward; the calibration forward runs on the CPU"), 1);
}

TEST(PluginCallScope, LendsTheCallsCancellationToTheThreadItLivesOn) {
  EXPECT_FALSE(gptq::plugin_call_cancelled());
  bool stop = false;
  {
    gptq::PluginCallScope outer([&] { return stop; });
    EXPECT_FALSE(gptq::plugin_call_cancelled());
    stop = true;
    EXPECT_TRUE(gptq::plugin_call_cancelled());
    {
      gptq::PluginCallScope inner([] { return false; });
      EXPECT_FALSE(gptq::plugin_call_cancelled());
    }
    EXPECT_TRUE(gptq::plugin_call_cancelled());
  }
  EXPECT_FALSE(gptq::plugin_call_cancelled());
}

}  // namespace
