// The backend plugin table v2 end to end, with a fake plugin built in the
// tests (fake_plugin.cpp) loaded through the loader's $GPTQ_CUDA_PLUGIN:
// out of memory in the plugin surfaces from the C API as
// GPTQ_ERR_OUT_OF_MEMORY with the plugin's words; a plugin whose engine
// entries are NULL still makes a usable "cuda" context whose quantization
// and evaluation run on the CPU, the fallback logged once per engine.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/backend/backend_loader.h"
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
