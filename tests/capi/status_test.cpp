// Status names and the per-thread last-error channel.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "gptq/gptq.h"

TEST(Status, NamesEveryStatus) {
  EXPECT_STREQ(gptq_status_name(GPTQ_OK), "OK");
  EXPECT_STREQ(gptq_status_name(GPTQ_ERR_INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_STREQ(gptq_status_name(GPTQ_ERR_IO), "IO");
  EXPECT_STREQ(gptq_status_name(GPTQ_ERR_FORMAT), "FORMAT");
  EXPECT_STREQ(gptq_status_name(GPTQ_ERR_UNSUPPORTED), "UNSUPPORTED");
  EXPECT_STREQ(gptq_status_name(GPTQ_ERR_OUT_OF_MEMORY), "OUT_OF_MEMORY");
  EXPECT_STREQ(gptq_status_name(GPTQ_ERR_DEVICE), "DEVICE");
  EXPECT_STREQ(gptq_status_name(GPTQ_ERR_NUMERICAL), "NUMERICAL");
  EXPECT_STREQ(gptq_status_name(GPTQ_ERR_CANCELLED), "CANCELLED");
  EXPECT_STREQ(gptq_status_name(GPTQ_ERR_INTERNAL), "INTERNAL");
  EXPECT_STREQ(gptq_status_name(GPTQ_ERR_BUFFER_TOO_SMALL), "BUFFER_TOO_SMALL");
  EXPECT_STREQ(gptq_status_name(GPTQ_ERR_REENTRANT), "REENTRANT");
  EXPECT_STREQ(gptq_status_name(static_cast<gptq_status>(12345)), "UNKNOWN");
}

TEST(Version, HeaderMatchesLibrary) {
  EXPECT_EQ(gptq_abi_version(), static_cast<uint32_t>(GPTQ_ABI_VERSION));
  EXPECT_EQ(gptq_version_number(), static_cast<uint32_t>(GPTQ_VERSION_NUMBER));
  std::string expected = std::to_string(GPTQ_VERSION_MAJOR) + "." +
                         std::to_string(GPTQ_VERSION_MINOR) + "." +
                         std::to_string(GPTQ_VERSION_PATCH);
  EXPECT_EQ(expected, gptq_version());
}

TEST(LastError, EmptyUntilAFailureAndClearable) {
  gptq_clear_error();
  EXPECT_STREQ(gptq_last_error(), "");
  EXPECT_EQ(gptq_context_create(nullptr, nullptr), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gptq_last_error()).find("'out' is NULL"), std::string::npos)
      << gptq_last_error();
  EXPECT_NE(std::string(gptq_last_error()).find("gptq_context_create"), std::string::npos);
  gptq_clear_error();
  EXPECT_STREQ(gptq_last_error(), "");
}

TEST(LastError, EachThreadSeesItsOwnMessage) {
  std::string seen_a, seen_b;
  std::thread a([&] {
    gptq_context *ctx = nullptr;
    EXPECT_EQ(gptq_context_create("{\"threads\": -3}", &ctx), GPTQ_ERR_INVALID_ARGUMENT);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    seen_a = gptq_last_error();
  });
  std::thread b([&] {
    gptq_context *ctx = nullptr;
    EXPECT_EQ(gptq_context_create("{\"device\": \"zero\"}", &ctx), GPTQ_ERR_INVALID_ARGUMENT);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    seen_b = gptq_last_error();
  });
  a.join();
  b.join();
  EXPECT_NE(seen_a.find("threads"), std::string::npos) << seen_a;
  EXPECT_EQ(seen_a.find("device"), std::string::npos) << seen_a;
  EXPECT_NE(seen_b.find("device"), std::string::npos) << seen_b;
  EXPECT_EQ(seen_b.find("threads"), std::string::npos) << seen_b;
  // The main thread saw neither.
  gptq_clear_error();
  EXPECT_STREQ(gptq_last_error(), "");
}
