// Progress and cancellation of long calls, through the C API:
//  - gptq_quantize_model's "quantize" units: done never decreases, total is
//    fixed from the first call, the last call has done == total, and the
//    units are fine enough that the callback comes many times inside one big
//    sublayer (counted: the largest step between two calls is a small share
//    of the total, where one unit per sublayer made it 90%);
//  - a cancel asked (by another thread, as Ctrl-C does) inside that sublayer
//    is answered at once: by the next call, GPTQ_ERR_CANCELLED, nothing on
//    disk, far sooner than the rest of the sublayer would have taken;
//  - generation reports and cancels through gptq_session_set_progress.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gptq/gptq.h"
#include "tests/support/shared_data.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A one-block Llama whose down_proj has 4096 inputs: its Hessian factorization
// (float64, 4096^3) is most of the work, the rest small. Float32 weights, no
// tokenizer (calibration by token ids).
constexpr int kHidden = 256, kInter = 4096, kHeads = 4, kVocab = 512;

void write_big_sublayer_model(const fs::path &dir) {
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": )" << kHidden << R"(, "intermediate_size": )" << kInter << R"(, "num_attention_heads": )"
                                     << kHeads << R"(, "num_key_value_heads": )" << kHeads << R"(,
    "num_hidden_layers": 1, "vocab_size": )" << kVocab << R"(, "max_position_embeddings": 512, "rms_norm_eps": 1e-5,
    "hidden_act": "silu", "tie_word_embeddings": false, "rope_theta": 10000.0, "torch_dtype": "float32"})";
  struct T {
    std::string name;
    int rows, cols;  // cols 0: a vector
  };
  const std::vector<T> tensors = {{"model.embed_tokens.weight", kVocab, kHidden},
                                  {"model.layers.0.input_layernorm.weight", kHidden, 0},
                                  {"model.layers.0.self_attn.q_proj.weight", kHidden, kHidden},
                                  {"model.layers.0.self_attn.k_proj.weight", kHidden, kHidden},
                                  {"model.layers.0.self_attn.v_proj.weight", kHidden, kHidden},
                                  {"model.layers.0.self_attn.o_proj.weight", kHidden, kHidden},
                                  {"model.layers.0.post_attention_layernorm.weight", kHidden, 0},
                                  {"model.layers.0.mlp.gate_proj.weight", kInter, kHidden},
                                  {"model.layers.0.mlp.up_proj.weight", kInter, kHidden},
                                  {"model.layers.0.mlp.down_proj.weight", kHidden, kInter},
                                  {"model.norm.weight", kHidden, 0},
                                  {"lm_head.weight", kVocab, kHidden}};
  std::string header = R"({"__metadata__": {"format": "pt"})";
  std::vector<float> data;
  std::mt19937 rng(5);
  for (const T &t : tensors) {
    const std::size_t n = static_cast<std::size_t>(t.rows) * static_cast<std::size_t>(t.cols ? t.cols : 1);
    const std::size_t begin = data.size() * sizeof(float);
    std::normal_distribution<float> d(t.cols ? 0.0f : 1.0f, t.cols ? 1.0f / std::sqrt(float(t.cols)) : 0.0f);
    for (std::size_t i = 0; i < n; ++i) data.push_back(t.cols ? d(rng) : 1.0f);
    header += ", \"" + t.name + R"(": {"dtype": "F32", "shape": [)" + std::to_string(t.rows) +
              (t.cols ? ", " + std::to_string(t.cols) : "") + R"(], "data_offsets": [)" + std::to_string(begin) +
              ", " + std::to_string(data.size() * sizeof(float)) + "]}";
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  std::ofstream out(dir / "model.safetensors", std::ios::binary);
  const std::uint64_t len = header.size();
  out.write(reinterpret_cast<const char *>(&len), 8);
  out << header;
  out.write(reinterpret_cast<const char *>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
}

struct Call {
  std::string stage;
  uint64_t done, total;
  Clock::time_point at;
};

struct Recorder {
  std::vector<Call> calls;
  static int fn(void *user, const char *stage, uint64_t done, uint64_t total) {
    static_cast<Recorder *>(user)->calls.push_back({stage, done, total, Clock::now()});
    return 0;
  }
  std::vector<Call> stage(const std::string &s) const {
    std::vector<Call> out;
    for (const Call &c : calls)
      if (c.stage == s) out.push_back(c);
    return out;
  }
};

// done starts at 0, never decreases, ends at total; total never changes.
void expect_well_formed(const std::vector<Call> &calls) {
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front().done, 0u);
  EXPECT_GT(calls.front().total, 0u);
  for (std::size_t i = 1; i < calls.size(); ++i) {
    EXPECT_GE(calls[i].done, calls[i - 1].done) << i;
    EXPECT_EQ(calls[i].total, calls.front().total) << i;
  }
  EXPECT_EQ(calls.back().done, calls.back().total);
}

class QuantizeProgress : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string tag = std::to_string(::getpid());
    model_ = fs::temp_directory_path() / ("gptq_progress_model_" + tag);
    out_ = fs::temp_directory_path() / ("gptq_progress_out_" + tag);
    write_big_sublayer_model(model_);
    ASSERT_EQ(gptq_context_create(R"({"backend": "cpu", "threads": 2})", &ctx_), GPTQ_OK) << gptq_last_error();
    std::mt19937 rng(1);
    std::string ids;
    for (int i = 0; i < 8 * 128; ++i) ids += (i ? "," : "") + std::to_string(rng() % kVocab);
    config_ = R"({"bits": 4, "group_size": 128, "calibration": {"token_ids": [)" + ids +
              R"(], "nsamples": 8, "seqlen": 128}})";
  }
  void TearDown() override {
    gptq_context_destroy(ctx_);
    fs::remove_all(model_);
    fs::remove_all(out_);
  }
  gptq_status quantize_with(gptq_progress_fn fn, void *user, const std::string &config) {
    fs::remove_all(out_);
    const char *report = nullptr;
    return gptq_quantize_model(ctx_, model_.c_str(), config.c_str(), out_.c_str(), fn, user, &report);
  }
  fs::path model_, out_;
  gptq_context *ctx_ = nullptr;
  std::string config_;
};

TEST_F(QuantizeProgress, UnitsRiseToAFixedTotalAndComeOftenInsideABigSublayer) {
  Recorder r;
  ASSERT_EQ(quantize_with(Recorder::fn, &r, config_), GPTQ_OK) << gptq_last_error();
  const auto q = r.stage("quantize");
  expect_well_formed(q);
  expect_well_formed(r.stage("write checkpoint"));
  // One unit per sublayer gave the down_proj step 90% of the total. Counted,
  // not timed: the solve reports its fractions as it goes, and the meter calls
  // at least once per 1/200 of the total, on any machine.
  uint64_t largest = 0;
  for (std::size_t i = 1; i < q.size(); ++i) largest = std::max(largest, q[i].done - q[i - 1].done);
  EXPECT_LT(largest, q.back().total / 20) << q.size() << " calls";
  // RTN: one step per sublayer, weighted by its size; the same rules.
  Recorder rtn;
  ASSERT_EQ(quantize_with(Recorder::fn, &rtn, R"({"method": "rtn", "bits": 4, "group_size": 128})"), GPTQ_OK) << gptq_last_error();
  expect_well_formed(rtn.stage("quantize"));
}

// As Ctrl-C does: another thread asks to stop (a flag the callback returns)
// while the work is inside down_proj's factorization.
struct FlagRecorder {
  std::vector<Call> calls;
  std::atomic<std::size_t> count{0};
  std::atomic<uint64_t> done{0}, total{0};  // of the "quantize" stage, for the asking thread
  std::atomic<bool> stop{false};
  std::size_t calls_when_asked = 0;
  static int fn(void *user, const char *stage, uint64_t done, uint64_t total) {
    auto *r = static_cast<FlagRecorder *>(user);
    r->calls.push_back({stage, done, total, Clock::now()});
    if (std::string_view(stage) == "quantize") {
      r->done = done;
      r->total = total;
    }
    r->count++;
    return r->stop ? 1 : 0;
  }
};

TEST_F(QuantizeProgress, ACancelAskedInsideABigSublayerIsAnsweredAtOnce) {
  FlagRecorder full;
  const auto t0 = Clock::now();
  ASSERT_EQ(quantize_with(FlagRecorder::fn, &full, config_), GPTQ_OK) << gptq_last_error();
  const double full_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  // Ask half way through the run's time, or once 90% of its units are done
  // if that comes first (a run faster than the first): either is inside
  // down_proj's solve.
  const double half_seconds = full_seconds / 2;
  FlagRecorder r;
  const auto t1 = Clock::now();
  Clock::time_point asked_at{};
  std::thread asker([&] {
    const auto deadline = t1 + std::chrono::duration<double>(half_seconds);
    while (Clock::now() < deadline && !(r.total > 0 && r.done * 10 >= r.total * 9))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    r.calls_when_asked = r.count;
    asked_at = Clock::now();
    r.stop = true;
  });
  const gptq_status st = quantize_with(FlagRecorder::fn, &r, config_);
  const auto returned = Clock::now();
  asker.join();
  ASSERT_EQ(st, GPTQ_ERR_CANCELLED) << gptq_last_error();
  EXPECT_NE(std::string(gptq_last_error()).find("cancel"), std::string::npos) << gptq_last_error();
  EXPECT_FALSE(fs::exists(out_));
  ASSERT_FALSE(r.calls.empty());
  EXPECT_EQ(r.calls.back().stage, "quantize");
  EXPECT_LT(r.calls.back().done, r.calls.back().total);
  // Counted: the first call after the request answered it (a call may have
  // been under way when the flag was set).
  EXPECT_LE(r.calls.size(), r.calls_when_asked + 2);
  // Timed, with a bound from this machine's own run: one unit per sublayer
  // left the request waiting for the rest of down_proj (~40% of the run);
  // now only the tasks already running end (milliseconds). A quarter of the
  // whole run holds on any machine, however slow.
  const double latency = std::chrono::duration<double>(returned - asked_at).count();
  EXPECT_LT(latency, full_seconds / 4) << "cancel answered in " << latency << " s; the whole run took "
                                       << full_seconds << " s";
  std::printf("cancel answered in %.3f s (whole run %.2f s)\n", latency, full_seconds);
}

TEST(GenerateProgress, ReportsTokensAndCancels) {
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu", "threads": 2})", &ctx), GPTQ_OK);
  gptq_model *model = nullptr;
  const fs::path demo = gptq::testing::source_dir() / "demo" / "docs-llama-tiny";
  ASSERT_EQ(gptq_model_open(ctx, demo.c_str(), &model), GPTQ_OK) << gptq_last_error();
  gptq_session *s = nullptr;
  ASSERT_EQ(gptq_session_create(ctx, model, R"({"temperature": 0, "max_new_tokens": 10, "stop_at_eos": false})", &s),
            GPTQ_OK)
      << gptq_last_error();
  const std::string prompt = "To create a table in PostgreSQL, use the";
  struct Seen {
    std::vector<Call> calls;
    std::vector<int32_t> tokens;
    uint64_t cancel_at = UINT64_MAX;
  } seen;
  auto on_token = [](void *user, const char *, int32_t id) {
    if (id >= 0) static_cast<Seen *>(user)->tokens.push_back(id);
    return 0;
  };
  auto on_progress = [](void *user, const char *stage, uint64_t done, uint64_t total) {
    auto *seen_by = static_cast<Seen *>(user);
    seen_by->calls.push_back({stage, done, total, Clock::now()});
    return done >= seen_by->cancel_at ? 1 : 0;
  };
  ASSERT_EQ(gptq_session_set_progress(s, on_progress, &seen), GPTQ_OK);
  ASSERT_EQ(gptq_generate(s, prompt.data(), prompt.size(), on_token, &seen), GPTQ_OK) << gptq_last_error();
  ASSERT_EQ(seen.tokens.size(), 10u);
  ASSERT_FALSE(seen.calls.empty());
  EXPECT_EQ(seen.calls.front().stage, "generate");
  EXPECT_EQ(seen.calls.front().done, 0u);
  const uint64_t total = seen.calls.front().total;
  for (std::size_t i = 1; i < seen.calls.size(); ++i) {
    EXPECT_GE(seen.calls[i].done, seen.calls[i - 1].done);
    EXPECT_EQ(seen.calls[i].total, total);
  }
  // The prompt's tokens, then one per token run (the last one sampled is not run).
  const uint64_t prompt_tokens = total - 10;
  EXPECT_EQ(seen.calls.back().done, prompt_tokens + 9);

  // A cancel before the prompt runs: no token; once the third token has run
  // (each is handed to on_token before it runs): three.
  for (uint64_t at : {uint64_t{0}, prompt_tokens + 3}) {
    seen = Seen{};
    seen.cancel_at = at;
    EXPECT_EQ(gptq_generate(s, prompt.data(), prompt.size(), on_token, &seen), GPTQ_ERR_CANCELLED);
    EXPECT_EQ(seen.tokens.size(), at == 0 ? 0u : 3u) << at;
  }
  // Without a callback again.
  ASSERT_EQ(gptq_session_set_progress(s, nullptr, nullptr), GPTQ_OK);
  seen = Seen{};
  EXPECT_EQ(gptq_generate(s, prompt.data(), prompt.size(), on_token, &seen), GPTQ_OK);
  EXPECT_TRUE(seen.calls.empty());
  EXPECT_EQ(gptq_session_set_progress(nullptr, nullptr, nullptr), GPTQ_ERR_INVALID_ARGUMENT);
  gptq_session_destroy(s);
  gptq_model_destroy(model);
  gptq_context_destroy(ctx);
}

}  // namespace
