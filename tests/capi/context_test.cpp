// Context lifecycle, backend choice, logging and NULL handling.
#include <gtest/gtest.h>

#include <string>
#include <atomic>
#include <thread>
#include <vector>

#include "gptq/gptq.h"

namespace {

struct Lines {
  std::vector<std::pair<gptq_log_level, std::string>> lines;
  bool contains(const std::string &needle) const {
    for (const auto &l : lines)
      if (l.second.find(needle) != std::string::npos) return true;
    return false;
  }
};

void collect(void *user, gptq_log_level level, const char *msg) {
  static_cast<Lines *>(user)->lines.emplace_back(level, msg);
}

std::string backend_of(gptq_context *ctx) {
  const char *name = nullptr;
  EXPECT_EQ(gptq_context_backend(ctx, &name), GPTQ_OK);
  return name ? name : "";
}

}  // namespace

TEST(Context, DefaultsCreateAndDestroy) {
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(nullptr, &ctx), GPTQ_OK) << gptq_last_error();
  ASSERT_NE(ctx, nullptr);
  std::string backend = backend_of(ctx);
  EXPECT_TRUE(backend == "cpu" || backend == "cuda") << backend;
  gptq_context_destroy(ctx);

  ASSERT_EQ(gptq_context_create("", &ctx), GPTQ_OK) << gptq_last_error();
  gptq_context_destroy(ctx);
}

TEST(Context, DestroyNullIsANoOp) { gptq_context_destroy(nullptr); }

TEST(Context, CpuBackendReportsDeviceAndResolvedThreads) {
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu", "threads": 2})", &ctx), GPTQ_OK)
      << gptq_last_error();
  EXPECT_EQ(backend_of(ctx), "cpu");
  const char *device = nullptr;
  ASSERT_EQ(gptq_context_device_name(ctx, &device), GPTQ_OK);
  EXPECT_NE(std::string(device).find("2 threads"), std::string::npos) << device;
  const char *json = nullptr;
  ASSERT_EQ(gptq_context_runtime_json(ctx, &json), GPTQ_OK);
  std::string j = json;
  EXPECT_NE(j.find("\"threads\": 2"), std::string::npos) << j;
  EXPECT_NE(j.find("\"backend\": \"cpu\""), std::string::npos) << j;
  gptq_context_destroy(ctx);

  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &ctx), GPTQ_OK);
  ASSERT_EQ(gptq_context_runtime_json(ctx, &json), GPTQ_OK);
  EXPECT_EQ(std::string(json).find("\"threads\": 0"), std::string::npos)
      << "threads 0 must be resolved to the count used: " << json;
  gptq_context_destroy(ctx);
}

TEST(Context, CreationLinesAreReplayedToTheLogCallback) {
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"log_level": "info"})", &ctx), GPTQ_OK) << gptq_last_error();
  Lines lines;
  ASSERT_EQ(gptq_context_set_log(ctx, collect, &lines), GPTQ_OK);
  EXPECT_TRUE(lines.contains("backend: ")) << "no backend line replayed";
  if (backend_of(ctx) == "cpu") {
    // auto fell back: the reason must be said.
    EXPECT_TRUE(lines.contains("using the CPU because CUDA is unavailable"));
  }
  for (const auto &l : lines.lines) EXPECT_LE(l.first, GPTQ_LOG_INFO);
  ASSERT_EQ(gptq_context_set_log(ctx, nullptr, nullptr), GPTQ_OK);
  gptq_context_destroy(ctx);
}

TEST(Context, QuietLevelDeliversNoInfoLines) {
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"log_level": "error"})", &ctx), GPTQ_OK);
  Lines lines;
  ASSERT_EQ(gptq_context_set_log(ctx, collect, &lines), GPTQ_OK);
  EXPECT_TRUE(lines.lines.empty());
  gptq_context_destroy(ctx);
}

TEST(Context, CudaAskedForWithoutAGpuSaysWhy) {
  gptq_context *ctx = nullptr;
  gptq_status st = gptq_context_create(R"({"backend": "cuda", "log_level": "error"})", &ctx);
  if (st == GPTQ_OK) {
    EXPECT_EQ(backend_of(ctx), "cuda");
    gptq_context_destroy(ctx);
    GTEST_SKIP() << "a GPU is present; the no-GPU error path is not reachable here";
  }
  EXPECT_TRUE(st == GPTQ_ERR_DEVICE || st == GPTQ_ERR_UNSUPPORTED) << gptq_status_name(st);
  EXPECT_EQ(ctx, nullptr);
  std::string msg = gptq_last_error();
  EXPECT_NE(msg.find("cuda"), std::string::npos) << msg;
  EXPECT_GT(msg.size(), 40u) << "the reason is missing: " << msg;
}

TEST(Context, BadRuntimeConfigNamesTheField) {
  gptq_context *ctx = nullptr;
  EXPECT_EQ(gptq_context_create(R"({"backend": "tpu"})", &ctx), GPTQ_ERR_INVALID_ARGUMENT);
  std::string msg = gptq_last_error();
  EXPECT_NE(msg.find("backend"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cuda"), std::string::npos) << "allowed values not listed: " << msg;
  EXPECT_EQ(ctx, nullptr);

  EXPECT_EQ(gptq_context_create(R"({"threds": 4})", &ctx), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("threds"), std::string::npos);
  EXPECT_EQ(gptq_context_create("{not json", &ctx), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ctx, nullptr);
}

TEST(Context, NullArgumentsAreRejected) {
  const char *s = nullptr;
  EXPECT_EQ(gptq_context_backend(nullptr, &s), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("'ctx'"), std::string::npos);
  EXPECT_EQ(gptq_context_device_name(nullptr, &s), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_context_runtime_json(nullptr, &s), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gptq_context_set_log(nullptr, collect, nullptr), GPTQ_ERR_INVALID_ARGUMENT);
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &ctx), GPTQ_OK);
  EXPECT_EQ(gptq_context_backend(ctx, nullptr), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("'name'"), std::string::npos);
  gptq_context_destroy(ctx);
}

TEST(Context, IndependentContextsOnThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      gptq_context *ctx = nullptr;
      if (gptq_context_create(R"({"backend": "cpu", "threads": 1})", &ctx) == GPTQ_OK) {
        const char *name = nullptr;
        if (gptq_context_backend(ctx, &name) == GPTQ_OK && std::string(name) == "cpu") ++ok;
        gptq_context_destroy(ctx);
      }
    });
  }
  for (auto &t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
}
