// Handles destroyed in any order (as a binding's finalizers do): a model keeps
// its context, a session its model and context; a model belongs to the
// context it was opened with. Run under ASan, a wrong order is a
// use-after-free there rather than a silent pass.
#include <gtest/gtest.h>


#include <algorithm>
#include <array>
#include <string>

#include "gptq/gptq.h"
#include "tests/support/process_threads.h"
#include "tests/support/shared_data.h"

namespace {

std::string demo_model() { return (gptq::testing::source_dir() / "demo" / "docs-llama-tiny").string(); }

using ::gptq::testing::process_threads;
using ::gptq::testing::process_threads_after_exit;

struct Text {
  std::string text;
};

int collect(void *user, const char *piece, int32_t) {
  static_cast<Text *>(user)->text += piece;
  return 0;
}

std::string generate(gptq_session *s) {
  Text out;
  EXPECT_EQ(gptq_generate(s, "Hello", 5, collect, &out), GPTQ_OK) << gptq_last_error();
  return out.text;
}

enum Handle { kContext, kModel, kSession };

// Every order of destroying the three handles, generating with the session
// while it lives: each generation gives the same text as with all alive.
TEST(Lifetime, AnyDestroyOrderIsSafe) {
  std::array<Handle, 3> order{kContext, kModel, kSession};
  std::string expected;
  int orders = 0;
  do {
    gptq_context *ctx = nullptr;
    ASSERT_EQ(gptq_context_create(R"({"backend": "cpu", "threads": 2, "log_level": "error"})", &ctx), GPTQ_OK);
    gptq_model *model = nullptr;
    ASSERT_EQ(gptq_model_open(ctx, demo_model().c_str(), &model), GPTQ_OK) << gptq_last_error();
    gptq_session *s = nullptr;
    ASSERT_EQ(gptq_session_create(ctx, model, R"({"max_new_tokens": 6, "temperature": 0})", &s), GPTQ_OK)
        << gptq_last_error();
    if (expected.empty()) expected = generate(s);
    ASSERT_FALSE(expected.empty());
    for (Handle h : order) {
      if (h == kContext) gptq_context_destroy(ctx);
      if (h == kModel) gptq_model_destroy(model);
      if (h == kSession) {
        EXPECT_EQ(generate(s), expected);
        gptq_session_destroy(s);
        s = nullptr;
      }
    }
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(orders, 6);
}

// The context's resources (here: its worker threads) stay while a model made
// with it lives, and go with the last handle.
TEST(Lifetime, ContextResourcesGoWithTheLastModel) {
  const int before = process_threads();
  ASSERT_GT(before, 0);
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu", "threads": 3})", &ctx), GPTQ_OK);
  ASSERT_EQ(process_threads(), before + 2);
  gptq_model *a = nullptr, *b = nullptr;
  ASSERT_EQ(gptq_model_open(ctx, demo_model().c_str(), &a), GPTQ_OK) << gptq_last_error();
  ASSERT_EQ(gptq_model_open(ctx, demo_model().c_str(), &b), GPTQ_OK) << gptq_last_error();
  gptq_context_destroy(ctx);
  EXPECT_EQ(process_threads(), before + 2) << "two models keep the context";
  gptq_model_destroy(a);
  EXPECT_EQ(process_threads(), before + 2) << "one model keeps the context";
  const char *info = nullptr;
  EXPECT_EQ(gptq_model_info_json(b, &info), GPTQ_OK) << gptq_last_error();
  gptq_model_destroy(b);
  EXPECT_EQ(process_threads_after_exit(before), before) << "the last model released the context";
}

// A model is used with the context it was opened with: another context is a
// clear error, not weights used on the wrong device.
TEST(Lifetime, ModelWithAnotherContextIsRefused) {
  gptq_context *a = nullptr, *b = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &a), GPTQ_OK);
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &b), GPTQ_OK);
  gptq_model *model = nullptr;
  ASSERT_EQ(gptq_model_open(a, demo_model().c_str(), &model), GPTQ_OK) << gptq_last_error();
  gptq_session *s = nullptr;
  EXPECT_EQ(gptq_session_create(b, model, nullptr, &s), GPTQ_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  EXPECT_NE(std::string(gptq_last_error()).find("was opened with another context"), std::string::npos)
      << gptq_last_error();
  EXPECT_EQ(gptq_session_create(a, model, nullptr, &s), GPTQ_OK) << gptq_last_error();
  gptq_session_destroy(s);
  gptq_model_destroy(model);
  gptq_context_destroy(b);
  gptq_context_destroy(a);
}

}  // namespace
