// Generation on docs-llama-16m: the greedy continuation the model README
// quotes, streaming that adds up to the decoded tokens, stop strings, EOS,
// the sink stopping, max_new_tokens and seeded sampling; generate_batch: a
// ragged batch gives each prompt its lone generation, stops, sinks and EOS per
// sequence, progress over every sequence, prompts checked first, and an
// engine that chooses the tokens itself (run_and_sample) gives the host's.
#include "core/eval/generate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "core/config/typed.h"
#include "core/model/context_length.h"
#include "core/model/model.h"
#include "core/base/error.h"
#include "core/eval/sampler.h"
#include "tests/support/logit_tolerance.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"
#include "tests/support/test_engines.h"

namespace gptq::eval {
namespace {

const char *const kPrompt = "To create a table in PostgreSQL, use the";

class Generate : public ::testing::Test {
 protected:
  void SetUp() override {
    GPTQ_REQUIRE_SHARED(dir, "models/docs-llama-16m");
    model_ = model::Model::open(dir);
    forward_ = test_prepare(*model_);
  }
  GenerationResult run(const std::string &config_json, const TokenSink &sink = {}) {
    return generate(test_pool(), test_forward_engine(), *forward_, *model_->tokenizer(), kPrompt, config::parse_generation_config(config_json), sink);
  }
  std::unique_ptr<model::Model> model_;
  std::shared_ptr<const PreparedModel> forward_;
};

TEST_F(Generate, GreedyContinuesAsTheReadmeSays) {
  std::string streamed;
  int pieces = 0;
  const GenerationResult r = run(R"({"temperature": 0, "max_new_tokens": 24})", [&](std::string_view p, int32_t) {
    streamed += p;
    ++pieces;
    return true;
  });
  // The continuation keeps the space before its first word, as a streamer that
  // decodes prompt + continuation shows it (HF's TextStreamer, pipeline text).
  EXPECT_EQ(r.text.rfind(" CREATE TABLE command.", 0), 0u) << r.text;
  EXPECT_EQ(r.tokens.size(), 24u);
  EXPECT_EQ(r.reason, StopReason::MaxTokens);
  EXPECT_EQ(streamed, r.text);
  EXPECT_GE(pieces, 24);
  std::vector<int32_t> all = r.prompt_ids;
  all.insert(all.end(), r.tokens.begin(), r.tokens.end());
  const std::string prompt_text = model_->tokenizer()->decode(r.prompt_ids, true);
  EXPECT_EQ(prompt_text + r.text, model_->tokenizer()->decode(all, true));
  EXPECT_EQ(r.prompt_ids, model_->tokenizer()->encode(kPrompt));
}

TEST_F(Generate, StopStringIsNotEmitted) {
  const GenerationResult r = run(R"({"temperature": 0, "max_new_tokens": 24, "stop": [" command"]})");
  EXPECT_EQ(r.text, " CREATE TABLE");
  EXPECT_EQ(r.reason, StopReason::StopString);
}

TEST_F(Generate, SinkCanStop) {
  const GenerationResult r = run(R"({"temperature": 0})", [](std::string_view, int32_t) { return false; });
  EXPECT_EQ(r.tokens.size(), 1u);
  EXPECT_EQ(r.reason, StopReason::Sink);
}

TEST_F(Generate, EosEndsGenerationUnlessIgnored) {
  // The greedy text reaches </s> within a few hundred tokens or not at all;
  // either way stop_at_eos=false must run to max_new_tokens without it.
  const GenerationResult free_run = run(R"({"temperature": 0, "max_new_tokens": 48, "stop_at_eos": false})");
  EXPECT_EQ(free_run.tokens.size(), 48u);
  const GenerationResult r = run(R"({"temperature": 0, "max_new_tokens": 48})");
  const auto eos = std::find(free_run.tokens.begin(), free_run.tokens.end(), 2);
  EXPECT_EQ(r.tokens.size(), static_cast<std::size_t>(eos - free_run.tokens.begin()));
  EXPECT_EQ(r.reason, eos == free_run.tokens.end() ? StopReason::MaxTokens : StopReason::Eos);
}

TEST_F(Generate, SeededSamplingRepeats) {
  const std::string cfg = R"({"temperature": 0.9, "top_k": 50, "top_p": 0.95, "seed": 7, "max_new_tokens": 16})";
  const GenerationResult a = run(cfg), b = run(cfg);
  EXPECT_EQ(a.tokens, b.tokens);
  const GenerationResult c = run(R"({"temperature": 0.9, "top_k": 50, "top_p": 0.95, "seed": 8, "max_new_tokens": 16})");
  EXPECT_NE(a.tokens, c.tokens);
}

TEST_F(Generate, ZeroNewTokens) {
  const GenerationResult r = run(R"({"max_new_tokens": 0})");
  EXPECT_TRUE(r.tokens.empty());
  EXPECT_TRUE(r.text.empty());
}

// ---- generate_batch ----

// Prompts of different lengths (11, 4 and 21 tokens), so the batch is ragged.
const std::vector<std::string_view> kPrompts = {
    kPrompt, "SELECT",
    "The PostgreSQL documentation explains how to create an index on a table so that queries which filter on"};

class GenerateBatch : public Generate {
 protected:
  std::vector<GenerationResult> run_batch(const std::string &config_json, const BatchTokenSink &sink = {},
                                          const Progress &progress = {}) {
    return generate_batch(test_pool(), test_forward_engine(), *forward_, *model_->tokenizer(), kPrompts,
                          config::parse_generation_config(config_json), sink, progress);
  }
  GenerationResult run_one(std::string_view prompt, const std::string &config_json) {
    return generate(test_pool(), test_forward_engine(), *forward_, *model_->tokenizer(), prompt,
                    config::parse_generation_config(config_json));
  }
  // Greedy tokens are compared exactly only where rounding cannot flip them:
  // every step's two best logits (teacher-forced on r's tokens) further
  // apart than a batched pass can move them. Returns the smallest margin.
  double smallest_greedy_margin(const GenerationResult &r) {
    std::vector<std::int32_t> all = r.prompt_ids;
    all.insert(all.end(), r.tokens.begin(), r.tokens.end());
    const auto n = static_cast<std::int64_t>(all.size());
    const Matrix logits = test_forward_engine().run(test_compute(), *forward_, all, 1, n, nullptr, false);
    double smallest = 1e30;
    for (std::size_t i = 0; i < r.tokens.size(); ++i) {
      const float *row = logits.row(static_cast<std::int64_t>(r.prompt_ids.size() + i) - 1);
      std::vector<float> top(row, row + logits.cols);
      std::partial_sort(top.begin(), top.begin() + 2, top.end(), std::greater<>());
      smallest = std::min(smallest, double(top[0]) - top[1]);
    }
    return smallest;
  }
};

TEST_F(GenerateBatch, EachSequenceGetsWhatItsPromptGetsAlone) {
  const std::string cfg = R"({"temperature": 0, "max_new_tokens": 24})";
  std::vector<std::string> streamed(kPrompts.size());
  const std::vector<GenerationResult> got = run_batch(cfg, [&](std::size_t b, std::string_view piece, std::int32_t) {
    streamed.at(b) += piece;
    return true;
  });
  ASSERT_EQ(got.size(), kPrompts.size());
  std::set<std::size_t> lengths;
  for (std::size_t b = 0; b < kPrompts.size(); ++b) {
    const GenerationResult want = run_one(kPrompts[b], cfg);
    lengths.insert(want.prompt_ids.size());
    const double margin = smallest_greedy_margin(want);
    std::printf("prompt %zu: %zu tokens, smallest greedy margin %.2e\n", b, want.prompt_ids.size(), margin);
    ASSERT_GT(margin, testing::kLogitTolerance) << "prompt " << b << " has a near-tie: pick another prompt";
    EXPECT_EQ(got[b].prompt_ids, want.prompt_ids) << b;
    EXPECT_EQ(got[b].tokens, want.tokens) << b;
    EXPECT_EQ(got[b].text, want.text) << b;
    EXPECT_EQ(got[b].reason, want.reason) << b;
    EXPECT_EQ(streamed[b], got[b].text) << b;
  }
  EXPECT_EQ(lengths.size(), kPrompts.size()) << "the prompts must differ in length for a ragged batch";
}

TEST_F(GenerateBatch, StopsArePerSequence) {
  // The stop string ends sequence 0 (" CREATE TABLE command."), not the others.
  const std::string cfg = R"({"temperature": 0, "max_new_tokens": 16, "stop": [" command"]})";
  const std::vector<GenerationResult> got = run_batch(cfg);
  EXPECT_EQ(got[0].text, " CREATE TABLE");
  EXPECT_EQ(got[0].reason, StopReason::StopString);
  for (std::size_t b = 1; b < kPrompts.size(); ++b) {
    const GenerationResult want = run_one(kPrompts[b], cfg);
    EXPECT_EQ(got[b].tokens, want.tokens) << b;
    EXPECT_EQ(got[b].reason, want.reason) << b;
  }
  EXPECT_GT(got[1].tokens.size(), got[0].tokens.size());

  // A sink that stops sequence 1 at its first token stops it alone; the
  // others run on to max_new_tokens, and nothing more reaches the sink for 1.
  std::vector<int> calls(kPrompts.size());
  const std::vector<GenerationResult> cut =
      run_batch(R"({"temperature": 0, "max_new_tokens": 8, "stop_at_eos": false})",
                [&](std::size_t b, std::string_view, std::int32_t) {
                  ++calls.at(b);
                  return b != 1;
                });
  EXPECT_EQ(cut[1].tokens.size(), 1u);
  EXPECT_EQ(cut[1].reason, StopReason::Sink);
  EXPECT_EQ(calls[1], 1);
  for (std::size_t b : {std::size_t{0}, std::size_t{2}}) {
    EXPECT_EQ(cut[b].tokens.size(), 8u) << b;
    EXPECT_EQ(cut[b].reason, StopReason::MaxTokens) << b;
    EXPECT_GE(calls[b], 8) << b;
  }
}

TEST_F(GenerateBatch, EosEndsItsSequenceOnly) {
  // docs-llama-16m rarely says </s>, so the model is prepared with an EOS id
  // that sequence 0 says among its greedy tokens (after the first) and
  // sequence 2 does not: each sequence ends at its first EOS (that id or the
  // tokenizer's </s>), the others run on.
  const std::string free_cfg = R"({"temperature": 0, "max_new_tokens": 24, "stop_at_eos": false})";
  const std::vector<GenerationResult> free_run = run_batch(free_cfg);
  model::ModelSpec spec = model_->spec();
  const std::vector<std::int32_t> &said = free_run[0].tokens, &other = free_run[2].tokens;
  const auto pick = std::find_if(said.begin() + 1, said.end(), [&](std::int32_t id) {
    return std::find(other.begin(), other.end(), id) == other.end();
  });
  ASSERT_NE(pick, said.end()) << "sequence 0 says no token that sequence 2 does not";
  const std::int32_t eos_id = *pick;
  spec.eos_token_ids = {eos_id};
  const auto prepared = test_forward_engine().prepare(test_compute(), spec, model_->weights());
  const std::vector<GenerationResult> got =
      generate_batch(test_pool(), test_forward_engine(), *prepared, *model_->tokenizer(), kPrompts,
                     config::parse_generation_config(R"({"temperature": 0, "max_new_tokens": 24})"));
  const std::int32_t eos[] = {eos_id, *model_->tokenizer()->eos_id()};
  int ended = 0;
  for (std::size_t b = 0; b < kPrompts.size(); ++b) {
    const auto &all = free_run[b].tokens;
    const auto first = std::find_first_of(all.begin(), all.end(), std::begin(eos), std::end(eos));
    EXPECT_EQ(got[b].tokens, std::vector<std::int32_t>(all.begin(), first)) << b;
    EXPECT_EQ(got[b].reason, first == all.end() ? StopReason::MaxTokens : StopReason::Eos) << b;
    ended += first != all.end();
  }
  EXPECT_EQ(got[0].reason, StopReason::Eos);
  EXPECT_EQ(got[2].reason, StopReason::MaxTokens);
  std::printf("EOS id %d ends %d of %zu sequences (sequence 0 after %zu tokens)\n", eos_id, ended, kPrompts.size(),
              got[0].tokens.size());
}

TEST_F(GenerateBatch, ProgressCountsEverySequencesTokens) {
  std::uint64_t last_done = 0, total = 0;
  const Progress progress([&](std::string_view stage, std::uint64_t done, std::uint64_t of) {
    EXPECT_EQ(stage, "generate");
    last_done = done;
    total = of;
    return true;
  });
  const std::vector<GenerationResult> got =
      run_batch(R"({"temperature": 0, "max_new_tokens": 5, "stop_at_eos": false})", {}, progress);
  std::uint64_t want = 0, done = 0;
  for (const GenerationResult &r : got) {
    want += r.prompt_ids.size() + 5;
    done += r.prompt_ids.size() + r.tokens.size() - 1;  // the last token is chosen, never run
  }
  EXPECT_EQ(total, want);
  EXPECT_EQ(last_done, done);
}

// An engine that chooses tokens itself, as the CUDA engine does on the
// device (ForwardEngine::run_and_sample): the CPU engine's logits and the
// host sampler's algorithm with the step's numbers and seen tokens, for the
// sequences of one parity (alternating from run to run) — the others left to
// the host. generate_batch then has to hand it each sequence's own numbers,
// in its own stream, and seen tokens for the penalty, and mix both kinds of
// answer: its tokens are then the host's, exactly.
class ChoosingEngine final : public ForwardEngine {
 public:
  std::string_view backend() const override { return "choosing"; }
  std::shared_ptr<const PreparedModel> prepare(const Compute &c, const model::ModelSpec &spec,
                                               const io::ShardedCheckpoint &checkpoint) const override {
    return cpu().prepare(c, spec, checkpoint);
  }
  std::unique_ptr<SequenceCache> make_cache(const PreparedModel &model, std::int64_t batch,
                                            std::int64_t capacity) const override {
    return cpu().make_cache(model, batch, capacity);
  }
  Matrix run(const Compute &c, const PreparedModel &model, std::span<const std::int32_t> ids, std::int64_t batch,
             std::int64_t seq, SequenceCache *cache, bool last_only,
             std::span<const std::int64_t> counts) const override {
    return cpu().run(c, model, ids, batch, seq, cache, last_only, counts);
  }
  std::vector<std::int32_t> run_and_sample(const Compute &c, const PreparedModel &model,
                                           std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t seq,
                                           SequenceCache *cache, std::span<const std::int64_t> counts,
                                           const SampleStep &step, Matrix &logits) const override {
    check_sample_step(step, batch, model.spec().vocab_size);
    logits = cpu().run(c, model, ids, batch, seq, cache, true, counts);
    std::vector<std::int32_t> tokens = tokens_left_to_host(step, batch);
    SamplingOptions o;
    o.temperature = step.temperature;
    o.top_k = step.top_k;
    o.top_p = step.top_p;
    o.repetition_penalty = step.repetition_penalty;
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto i = static_cast<std::size_t>(b);
      if (!step.active[i] || (b + runs_) % 2 != 0) continue;
      std::span<const std::int32_t> seen;
      if (!step.seen_offsets.empty())
        seen = step.seen_ids.subspan(static_cast<std::size_t>(step.seen_offsets[i]),
                                     static_cast<std::size_t>(step.seen_offsets[i + 1] - step.seen_offsets[i]));
      std::vector<float> row(logits.row(b), logits.row(b) + logits.cols);
      Sampler chooser(o);  // its own generator is never used: the number is given
      tokens[i] = chooser.next(row, seen, step.uniforms[i]);
      ++chosen_;
    }
    ++runs_;
    return tokens;
  }
  std::unique_ptr<Activations> embed(const Compute &c, const model::ModelSpec &spec, const model::GlobalWeights &g,
                                     std::span<const std::int32_t> ids, std::int64_t batch,
                                     std::int64_t seq) const override {
    return cpu().embed(c, spec, g, ids, batch, seq);
  }
  std::unique_ptr<Activations> copy(const Activations &a) const override { return cpu().copy(a); }
  void run_block(const Compute &c, const model::ModelSpec &spec, const model::BlockWeights &w, Activations &hidden,
                 std::int64_t batch, std::int64_t seq, const ActivationsObserver &observe) const override {
    cpu().run_block(c, spec, w, hidden, batch, seq, observe);
  }

  mutable std::int64_t runs_ = 0, chosen_ = 0;

 private:
  static const ForwardEngine &cpu() { return test_forward_engine(); }
};

TEST_F(GenerateBatch, TokensChosenByTheEngineAreTheHostsTokens) {
  const ChoosingEngine engine;
  const auto prepared = engine.prepare(test_compute(), model_->spec(), model_->weights());
  for (const std::string cfg :
       {R"({"temperature": 0, "max_new_tokens": 12, "repetition_penalty": 1.3})",
        R"({"temperature": 0.9, "top_k": 40, "top_p": 0.9, "repetition_penalty": 1.2, "seed": 7,
            "max_new_tokens": 20, "stop_at_eos": false})",
        R"({"temperature": 1.3, "top_p": 0.97, "seed": 11, "max_new_tokens": 20, "stop_at_eos": false})",
        R"({"temperature": 0.7, "top_k": 5, "seed": 3, "max_new_tokens": 20})"}) {
    const std::vector<GenerationResult> want = run_batch(cfg);
    engine.runs_ = engine.chosen_ = 0;
    const std::vector<GenerationResult> got = generate_batch(test_pool(), engine, *prepared, *model_->tokenizer(),
                                                             kPrompts, config::parse_generation_config(cfg));
    ASSERT_EQ(got.size(), want.size());
    std::size_t tokens = 0;
    for (std::size_t b = 0; b < want.size(); ++b) {
      EXPECT_EQ(got[b].tokens, want[b].tokens) << cfg << ": sequence " << b;
      EXPECT_EQ(got[b].text, want[b].text) << cfg << ": sequence " << b;
      EXPECT_EQ(got[b].reason, want[b].reason) << cfg << ": sequence " << b;
      tokens += want[b].tokens.size();
    }
    // Both kinds of answer were used.
    EXPECT_GT(engine.chosen_, 0) << cfg;
    EXPECT_LT(engine.chosen_, static_cast<std::int64_t>(tokens)) << cfg;
  }
}

TEST_F(GenerateBatch, EveryPromptIsCheckedFirstAndNamed) {
  auto message = [&](std::span<const std::string_view> prompts, const std::string &cfg) {
    try {
      (void)generate_batch(test_pool(), test_forward_engine(), *forward_, *model_->tokenizer(), prompts,
                           config::parse_generation_config(cfg), [](std::size_t, std::string_view, std::int32_t) {
                             ADD_FAILURE() << "a sequence ran";
                             return true;
                           });
    } catch (const Error &e) {
      EXPECT_EQ(e.status(), Status::InvalidArgument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({}, "{}").find("no prompts"), std::string::npos);
  // max_new_tokens that the shorter prompts 0 and 1 fit in the context with,
  // and prompt 2 does not.
  const auto longest = static_cast<std::int64_t>(model_->tokenizer()->encode(kPrompts[2], true).size());
  const std::int64_t max_new = model::context_length(model_->spec()) - longest + 1;
  const std::string m = message(kPrompts, R"({"max_new_tokens": )" + std::to_string(max_new) + "}");
  EXPECT_NE(m.find("prompt 2"), std::string::npos) << m;
  EXPECT_NE(m.find("give max_new_tokens"), std::string::npos) << m;
}

}  // namespace
}  // namespace gptq::eval
