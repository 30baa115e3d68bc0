// gptq.h's "Callbacks" rules, as a binding relies on them: every callback runs
// on the calling thread; from inside one, calls on the running call's context
// (or its models and sessions) are refused with GPTQ_ERR_REENTRANT, calls on
// other contexts and gptq_last_error work, and destroying handles is safe.
// Without the guard, the log case re-locks the context's log mutex on the
// thread that holds it (gptq_context_set_log from inside the sink): undefined
// behaviour, in practice a deadlock.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "gptq/gptq.h"
#include "tests/support/shared_data.h"

namespace {

std::string demo(const char *relative) { return (gptq::testing::source_dir() / "demo" / relative).string(); }

const std::string kText =
    "To create a table in PostgreSQL, use the CREATE TABLE command with the column names and types. ";

gptq_context *make_context(const char *json) {
  gptq_context *ctx = nullptr;
  EXPECT_EQ(gptq_context_create(json, &ctx), GPTQ_OK) << gptq_last_error();
  return ctx;
}

gptq_model *open_model(gptq_context *ctx) {
  gptq_model *model = nullptr;
  EXPECT_EQ(gptq_model_open(ctx, demo("docs-llama-tiny").c_str(), &model), GPTQ_OK) << gptq_last_error();
  return model;
}

// What a callback saw.
struct Seen {
  std::thread::id caller = std::this_thread::get_id();
  int calls = 0;
  int other_thread = 0;
  int overlapping = 0;
  int inside = 0;
  void enter() {
    ++calls;
    if (std::this_thread::get_id() != caller) ++other_thread;
    if (inside++) ++overlapping;
  }
  void leave() { --inside; }
};

TEST(Callbacks, AllRunOnTheCallingThreadOneAtATime) {
  gptq_context *ctx = make_context(R"({"backend": "cpu", "threads": 4, "log_level": "debug"})");
  Seen log;
  ASSERT_EQ(gptq_context_set_log(
                ctx,
                [](void *u, gptq_log_level, const char *) {
                  static_cast<Seen *>(u)->enter();
                  static_cast<Seen *>(u)->leave();
                },
                &log),
            GPTQ_OK);
  gptq_model *model = open_model(ctx);
  Seen progress;
  auto on_progress = [](void *u, const char *, uint64_t, uint64_t) {
    static_cast<Seen *>(u)->enter();
    static_cast<Seen *>(u)->leave();
    return 0;
  };
  const std::string text = kText + kText + kText + kText;
  const char *report = nullptr;
  ASSERT_EQ(gptq_evaluate(ctx, model, text.data(), text.size(), R"({"seqlen": 16})", on_progress, &progress,
                          &report),
            GPTQ_OK)
      << gptq_last_error();
  gptq_session *s = nullptr;
  ASSERT_EQ(gptq_session_create(ctx, model, R"({"max_new_tokens": 8, "temperature": 0})", &s), GPTQ_OK);
  ASSERT_EQ(gptq_session_set_progress(s, on_progress, &progress), GPTQ_OK);
  Seen tokens;
  ASSERT_EQ(gptq_generate(s, kText.data(), kText.size(),
                          [](void *u, const char *, int32_t) {
                            static_cast<Seen *>(u)->enter();
                            static_cast<Seen *>(u)->leave();
                            return 0;
                          },
                          &tokens),
            GPTQ_OK)
      << gptq_last_error();
  for (const Seen *seen : {&log, &progress, &tokens}) {
    EXPECT_GT(seen->calls, 0);
    EXPECT_EQ(seen->other_thread, 0);
    EXPECT_EQ(seen->overlapping, 0);
  }
  gptq_session_destroy(s);
  gptq_model_destroy(model);
  gptq_context_destroy(ctx);
}

// Two sessions of one context generating on two threads at once: each one's
// token and progress callbacks run on its own thread.
TEST(Callbacks, SessionsOnTwoThreadsCallBackOnTheirOwn) {
  gptq_context *ctx = make_context(R"({"backend": "cpu", "threads": 2})");
  gptq_model *model = open_model(ctx);
  gptq_session *a = nullptr, *b = nullptr;
  ASSERT_EQ(gptq_session_create(ctx, model, R"({"max_new_tokens": 12, "temperature": 0})", &a), GPTQ_OK);
  ASSERT_EQ(gptq_session_create(ctx, model, R"({"max_new_tokens": 12, "temperature": 0})", &b), GPTQ_OK);
  auto run = [](gptq_session *s, Seen *seen) {
    seen->caller = std::this_thread::get_id();
    auto cb = [](void *u, const char *, int32_t) {
      static_cast<Seen *>(u)->enter();
      static_cast<Seen *>(u)->leave();
      return 0;
    };
    EXPECT_EQ(gptq_generate(s, kText.data(), kText.size(), cb, seen), GPTQ_OK) << gptq_last_error();
  };
  Seen sa, sb;
  std::thread ta(run, a, &sa), tb(run, b, &sb);
  ta.join();
  tb.join();
  for (const Seen *seen : {&sa, &sb}) {
    EXPECT_GT(seen->calls, 0);
    EXPECT_EQ(seen->other_thread, 0);
  }
  gptq_session_destroy(a);
  gptq_session_destroy(b);
  gptq_model_destroy(model);
  gptq_context_destroy(ctx);
}

// The handles a callback is given and the other context it may use.
struct Reentry {
  gptq_context *ctx = nullptr;
  gptq_model *model = nullptr;
  gptq_session *session = nullptr;
  gptq_context *other = nullptr;
  gptq_session *other_session = nullptr;
  const gptq_tokenizer *tokenizer = nullptr;
  std::vector<std::string> refused;  // messages of the refused calls
  std::vector<std::string> wrong;    // what did not behave as the rules say
  bool done = false;
  const char *running = "";  // the call whose callback runs

  void expect_refused(gptq_status st, const char *what) {
    const std::string msg = gptq_last_error();
    if (st != GPTQ_ERR_REENTRANT) {
      wrong.push_back(std::string(what) + ": " + gptq_status_name(st) + " " + msg);
      return;
    }
    if (msg.find(running) == std::string::npos || msg.find("inside a callback") == std::string::npos)
      wrong.push_back(std::string(what) + ": message " + msg);
    refused.push_back(msg);
  }
  void expect_ok(gptq_status st, const char *what) {
    if (st != GPTQ_OK) wrong.push_back(std::string(what) + ": " + gptq_status_name(st) + " " + gptq_last_error());
  }

  // Everything a callback of a call on `ctx` tries, once.
  void try_all() {
    if (done) return;
    done = true;
    const char *s = nullptr;
    expect_refused(gptq_context_backend(ctx, &s), "gptq_context_backend");
    expect_refused(gptq_context_runtime_json(ctx, &s), "gptq_context_runtime_json");
    expect_refused(gptq_context_set_log(ctx, nullptr, nullptr), "gptq_context_set_log");
    expect_refused(gptq_model_info_json(model, &s), "gptq_model_info_json");
    gptq_model *m = nullptr;
    expect_refused(gptq_model_open(ctx, "/nonexistent", &m), "gptq_model_open");
    const char *report = nullptr;
    expect_refused(gptq_evaluate(ctx, model, kText.data(), kText.size(), R"({"seqlen": 8})", nullptr, nullptr,
                                 &report),
                   "gptq_evaluate");
    gptq_session *ns = nullptr;
    expect_refused(gptq_session_create(ctx, model, nullptr, &ns), "gptq_session_create");
    if (session) {
      expect_refused(gptq_generate(session, "a", 1, nullptr, nullptr), "gptq_generate");
      const char *prompts[] = {"a", "b"};
      const size_t lens[] = {1, 1};
      expect_refused(gptq_generate_batch(session, prompts, lens, 2, nullptr, nullptr), "gptq_generate_batch");
      expect_refused(gptq_session_set_progress(session, nullptr, nullptr), "gptq_session_set_progress");
    }
    const float w[32 * 32] = {};
    gptq_matrix_result *r = nullptr;
    expect_refused(gptq_rtn_matrix(ctx, w, 32, 32, nullptr, &r), "gptq_rtn_matrix");
    // Allowed: the error channel, other contexts, tokenizers, configs.
    if (std::string(gptq_last_error()).empty()) wrong.push_back("gptq_last_error is empty after a refusal");
    expect_ok(gptq_context_backend(other, &s), "gptq_context_backend(other)");
    expect_ok(gptq_rtn_matrix(other, w, 32, 32, R"({"group_size": 32})", &r), "gptq_rtn_matrix(other)");
    gptq_matrix_result_destroy(r);
    expect_ok(gptq_generate(other_session, "a", 1, nullptr, nullptr), "gptq_generate(other)");
    int32_t ids[16];
    size_t n = 0;
    expect_ok(gptq_tokenize(tokenizer, "hello", 5, 0, ids, 16, &n), "gptq_tokenize");
    char out[256];
    expect_ok(gptq_config_convert(GPTQ_CONFIG_EVAL, "{}", 2, GPTQ_ENCODING_JSON, GPTQ_ENCODING_JSON, out,
                                  sizeof out, &n),
              "gptq_config_convert");
  }
};

class CallbackReentry : public ::testing::Test {
 protected:
  void SetUp() override {
    r_.ctx = make_context(R"({"backend": "cpu", "threads": 2, "log_level": "info"})");
    r_.model = open_model(r_.ctx);
    ASSERT_EQ(gptq_session_create(r_.ctx, r_.model, R"({"max_new_tokens": 4, "temperature": 0})", &r_.session),
              GPTQ_OK);
    ASSERT_EQ(gptq_model_tokenizer(r_.model, &r_.tokenizer), GPTQ_OK);
    r_.other = make_context(R"({"backend": "cpu", "threads": 1})");
    other_model_ = open_model(r_.other);
    ASSERT_EQ(gptq_session_create(r_.other, other_model_, R"({"max_new_tokens": 2})", &r_.other_session),
              GPTQ_OK);
  }
  void TearDown() override {
    gptq_session_destroy(r_.session);
    gptq_model_destroy(r_.model);
    gptq_context_destroy(r_.ctx);
    gptq_session_destroy(r_.other_session);
    gptq_model_destroy(other_model_);
    gptq_context_destroy(r_.other);
  }
  void expect_rules_held() {
    EXPECT_TRUE(r_.done) << "the callback did not run";
    EXPECT_EQ(r_.refused.size(), 11u);
    for (const auto &w : r_.wrong) ADD_FAILURE() << w;
    // The context still works after the refusals.
    const char *s = nullptr;
    EXPECT_EQ(gptq_context_backend(r_.ctx, &s), GPTQ_OK) << gptq_last_error();
  }
  Reentry r_;
  gptq_model *other_model_ = nullptr;
};

TEST_F(CallbackReentry, FromAProgressCallback) {
  auto cb = [](void *u, const char *, uint64_t, uint64_t) {
    static_cast<Reentry *>(u)->try_all();
    return 0;
  };
  const std::string text = kText + kText;
  const char *report = nullptr;
  r_.running = "gptq_evaluate";
  EXPECT_EQ(gptq_evaluate(r_.ctx, r_.model, text.data(), text.size(), R"({"seqlen": 16})", cb, &r_, &report),
            GPTQ_OK)
      << gptq_last_error();
  expect_rules_held();
}

TEST_F(CallbackReentry, FromATokenCallback) {
  auto cb = [](void *u, const char *, int32_t) {
    static_cast<Reentry *>(u)->try_all();
    return 0;
  };
  r_.running = "gptq_generate";
  EXPECT_EQ(gptq_generate(r_.session, kText.data(), kText.size(), cb, &r_), GPTQ_OK) << gptq_last_error();
  expect_rules_held();
}

// The log lock is held while the sink runs: a call that logs on the same
// context would deadlock there without the guard.
TEST_F(CallbackReentry, FromALogCallback) {
  auto cb = [](void *u, gptq_log_level, const char *) { static_cast<Reentry *>(u)->try_all(); };
  r_.running = "gptq_context_set_log";
  ASSERT_EQ(gptq_context_set_log(r_.ctx, cb, &r_), GPTQ_OK);  // replays the kept lines: a first callback
  EXPECT_TRUE(r_.done) << "the replay ran the callback";
  r_.done = false;
  r_.refused.clear();
  r_.running = "gptq_model_open";
  gptq_model *again = nullptr;
  EXPECT_EQ(gptq_model_open(r_.ctx, demo("docs-llama-tiny").c_str(), &again), GPTQ_OK) << gptq_last_error();
  gptq_model_destroy(again);
  EXPECT_EQ(gptq_context_set_log(r_.ctx, nullptr, nullptr), GPTQ_OK);
  expect_rules_held();
}

// A callback that destroys every handle of its call (as a finalizer running
// then would): the call finishes normally, nothing is freed under it.
TEST(CallbackDestroy, HandlesDestroyedInsideTheirOwnCallbacks) {
  struct Handles {
    gptq_context *ctx;
    gptq_model *model;
    gptq_session *session;
    int tokens = 0;
  } h{};
  h.ctx = make_context(R"({"backend": "cpu", "threads": 2})");
  h.model = open_model(h.ctx);
  ASSERT_EQ(gptq_session_create(h.ctx, h.model, R"({"max_new_tokens": 6, "temperature": 0})", &h.session),
            GPTQ_OK);
  auto on_token = [](void *u, const char *, int32_t) {
    auto *p = static_cast<Handles *>(u);
    if (++p->tokens == 2) {
      gptq_session_destroy(p->session);
      gptq_model_destroy(p->model);
      gptq_context_destroy(p->ctx);
    }
    return 0;
  };
  EXPECT_EQ(gptq_generate(h.session, kText.data(), kText.size(), on_token, &h), GPTQ_OK) << gptq_last_error();
  EXPECT_GE(h.tokens, 3) << "generation went on after the destroys";

  h.ctx = make_context(R"({"backend": "cpu", "threads": 2})");
  h.model = open_model(h.ctx);
  auto on_progress = [](void *u, const char *, uint64_t done, uint64_t) {
    auto *p = static_cast<Handles *>(u);
    if (done == 1 && p->model) {
      gptq_model_destroy(p->model);
      gptq_context_destroy(p->ctx);
      p->model = nullptr;
    }
    return 0;
  };
  const std::string text = kText + kText + kText;
  const char *report = nullptr;
  EXPECT_EQ(gptq_evaluate(h.ctx, h.model, text.data(), text.size(), R"({"seqlen": 16})", on_progress, &h, &report),
            GPTQ_OK)
      << gptq_last_error();
  EXPECT_EQ(h.model, nullptr) << "the callback ran";
}

}  // namespace
