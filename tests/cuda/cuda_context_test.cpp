// The CUDA backend through the C API: it loads, opens the device and passes
// its kernel self-test (run by context creation), and reports the GPU.
#include <gtest/gtest.h>

#include <string>

#include "gptq/gptq.h"

namespace {

// A CUDA context, or a skip with the library's reason.
gptq_context *cuda_context_or_skip(const char *json, std::string *why) {
  gptq_context *ctx = nullptr;
  gptq_status st = gptq_context_create(json, &ctx);
  if (st != GPTQ_OK) *why = std::string(gptq_status_name(st)) + ": " + gptq_last_error();
  return ctx;
}

}  // namespace

TEST(CudaContext, OpensTheGpuAndRunsTheSelfTest) {
  std::string why;
  gptq_context *ctx = cuda_context_or_skip(R"({"backend": "cuda"})", &why);
  if (!ctx) GTEST_SKIP() << "no usable GPU: " << why;
  const char *backend = nullptr, *device = nullptr;
  ASSERT_EQ(gptq_context_backend(ctx, &backend), GPTQ_OK);
  EXPECT_STREQ(backend, "cuda");
  ASSERT_EQ(gptq_context_device_name(ctx, &device), GPTQ_OK);
  EXPECT_FALSE(std::string(device).empty());
  std::printf("CUDA device: %s\n", device);
  gptq_context_destroy(ctx);
}

TEST(CudaContext, AutoPicksTheGpu) {
  std::string why;
  gptq_context *probe = cuda_context_or_skip(R"({"backend": "cuda"})", &why);
  if (!probe) GTEST_SKIP() << "no usable GPU: " << why;
  gptq_context_destroy(probe);
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "auto"})", &ctx), GPTQ_OK) << gptq_last_error();
  const char *backend = nullptr;
  ASSERT_EQ(gptq_context_backend(ctx, &backend), GPTQ_OK);
  EXPECT_STREQ(backend, "cuda");
  gptq_context_destroy(ctx);
}

TEST(CudaContext, MissingDeviceIndexIsAnError) {
  std::string why;
  gptq_context *probe = cuda_context_or_skip(R"({"backend": "cuda"})", &why);
  if (!probe) GTEST_SKIP() << "no usable GPU: " << why;
  gptq_context_destroy(probe);
  gptq_context *ctx = nullptr;
  EXPECT_EQ(gptq_context_create(R"({"backend": "cuda", "device": 1023})", &ctx), GPTQ_ERR_DEVICE);
  EXPECT_NE(std::string(gptq_last_error()).find("device 1023 does not exist"), std::string::npos)
      << gptq_last_error();
}
