// set_last_error when recording the message itself runs out of memory: the
// caller must still get a message saying which call failed, not "". The test
// builds capi/status.cpp into itself (not through libgptq.so) and replaces
// the global operator new, so it can make exactly that recording fail.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

#include "capi/api_guard.h"
#include "gptq/gptq.h"

namespace {
bool g_fail_allocations = false;  // armed only around the call under test

// Out of line, so the compiler does not pair an inlined free with the
// operator new it sees (-Wmismatched-new-delete): both are malloc/free here.
[[gnu::noinline]] void release(void *p) noexcept { std::free(p); }
}  // namespace

void *operator new(std::size_t n) {
  if (g_fail_allocations) throw std::bad_alloc();
  if (void *p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void *operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void *p) noexcept { release(p); }
void operator delete[](void *p) noexcept { release(p); }
void operator delete(void *p, std::size_t) noexcept { release(p); }
void operator delete[](void *p, std::size_t) noexcept { release(p); }

namespace {

TEST(LastError, OutOfMemoryWhileRecordingLeavesAFixedMessage) {
  gptq::capi::set_last_error("gptq_first", "a first message");
  EXPECT_STREQ(gptq_last_error(), "gptq_first: a first message");
  const std::string message(1000, 'x');  // needs the heap, whatever the string's inline buffer
  g_fail_allocations = true;
  gptq::capi::set_last_error("gptq_model_open", message);
  g_fail_allocations = false;
  EXPECT_STREQ(gptq_last_error(), "gptq_model_open: out of memory while recording an error");

  // The next recording that succeeds replaces it; clearing forgets both.
  gptq::capi::set_last_error("gptq_generate", "later");
  EXPECT_STREQ(gptq_last_error(), "gptq_generate: later");
  g_fail_allocations = true;
  gptq::capi::set_last_error("gptq_evaluate", message);
  g_fail_allocations = false;
  gptq_clear_error();
  EXPECT_STREQ(gptq_last_error(), "");
}

// The whole path of an entry point that fails for lack of memory: the guard
// reports GPTQ_ERR_OUT_OF_MEMORY with the fixed message, and nothing it does
// while handling the failure may throw again (the guard is noexcept: a throw
// there would end the process).
TEST(LastError, GuardOutOfMemoryWhileOutOfMemory) {
  gptq_clear_error();
  const std::runtime_error error("a runtime error");  // made before: a copy shares its text
  g_fail_allocations = true;
  const gptq_status st = gptq::capi::guard("gptq_model_open", [] { throw std::bad_alloc(); });
  const char *message = gptq_last_error();
  const bool fixed = std::string_view(message) == "gptq_model_open: out of memory while recording an error";
  const gptq_status internal = gptq::capi::guard("gptq_generate", [&] { throw error; });
  g_fail_allocations = false;
  EXPECT_EQ(st, GPTQ_ERR_OUT_OF_MEMORY);
  EXPECT_TRUE(fixed) << "the message after the bad_alloc";
  EXPECT_EQ(internal, GPTQ_ERR_INTERNAL);
  EXPECT_STREQ(gptq_last_error(), "gptq_generate: out of memory while recording an error");
  EXPECT_EQ(gptq::capi::guard("gptq_generate", [&] { throw error; }), GPTQ_ERR_INTERNAL);
  EXPECT_STREQ(gptq_last_error(), "gptq_generate: internal error: a runtime error");
}

}  // namespace
