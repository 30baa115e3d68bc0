// The CPU forward pass on the real test models: the KV cache, batching and
// block-by-block streaming give the logits of the plain whole-model run; the
// observer sees every linear's input in order, one input per sequential
// group, and weights it replaces run; mutated weights take effect.
// Accuracy against transformers is tested in tests/core/eval/perplexity_test.cpp.
#include "core/model/forward.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/base/error.h"

#include "core/model/model.h"
#include "tests/support/logit_tolerance.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"

namespace gptq::model {
namespace {

const char *const kText =
    "PostgreSQL provides a rich set of tools for developers to manage tables, indexes and views.";

class ForwardTest : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override {
    GPTQ_REQUIRE_SHARED(dir, std::string("models/") + GetParam());
    model_ = Model::open(dir);
    forward_ = std::make_unique<Forward>(model_->spec(), model_->weights());
    ids_ = model_->tokenizer()->encode(kText);
  }
  std::unique_ptr<Model> model_;
  std::unique_ptr<Forward> forward_;
  std::vector<std::int32_t> ids_;
};

void expect_rows_near(const Matrix &a, std::int64_t ra, const Matrix &b, std::int64_t rb, float tol) {
  ASSERT_EQ(a.cols, b.cols);
  for (std::int64_t c = 0; c < a.cols; ++c)
    ASSERT_NEAR(a.row(ra)[c], b.row(rb)[c], tol) << "column " << c;
}

TEST_P(ForwardTest, KvCacheStepsMatchTheFullRun) {
  const auto n = static_cast<std::int64_t>(ids_.size());
  ASSERT_GT(n, 8);
  const Matrix full = forward_->run(test_compute(), ids_, 1, n);
  ASSERT_EQ(full.rows, n);
  ASSERT_EQ(full.cols, model_->spec().vocab_size);
  KvCache cache = forward_->make_cache(1, n);
  const std::int64_t prefix = n - 4;
  Matrix last = forward_->run(test_compute(), std::span(ids_).first(static_cast<std::size_t>(prefix)), 1, prefix, &cache, true);
  expect_rows_near(last, 0, full, prefix - 1, 2e-3f);
  for (std::int64_t i = prefix; i < n; ++i) {
    last = forward_->run(test_compute(), std::span(ids_).subspan(static_cast<std::size_t>(i), 1), 1, 1, &cache, true);
    expect_rows_near(last, 0, full, i, 2e-3f);
  }
  EXPECT_EQ(cache.length(0, 0), n);
  EXPECT_THROW(forward_->run(test_compute(), std::span(ids_).first(1), 1, 1, &cache), Error);  // full
}

TEST_P(ForwardTest, BatchedSequencesMatchSeparateRuns) {
  const std::int64_t seq = 8;
  std::vector<std::int32_t> both(ids_.begin(), ids_.begin() + seq);
  both.insert(both.end(), ids_.end() - seq, ids_.end());
  const Matrix batched = forward_->run(test_compute(), both, 2, seq);
  const Matrix a = forward_->run(test_compute(), std::span(both).first(seq), 1, seq);
  const Matrix b = forward_->run(test_compute(), std::span(both).last(seq), 1, seq);
  for (std::int64_t r = 0; r < seq; ++r) {
    expect_rows_near(batched, r, a, r, 1e-4f);
    expect_rows_near(batched, seq + r, b, r, 1e-4f);
  }
}

// Batched generation's forward runs: prompts of different lengths prefilled
// in one right-padded run, then decode steps where a finished sequence passes
// count 0, give each sequence the logits of its own single-sequence run with
// its own cache — positions (RoPE or learned), KV writes and the causal bound
// are per sequence. Batched and single runs sum in other orders (other GEMM
// row counts), so rows agree within the logit tolerance, not bit for bit.
TEST_P(ForwardTest, RaggedBatchMatchesSeparateRuns) {
  const std::vector<std::int64_t> lengths = {5, 9, 2};
  const std::int64_t batch = 3, seq = 9, steps = 3, capacity = seq + steps;
  ASSERT_GE(static_cast<std::int64_t>(ids_.size()), seq + steps + 4);
  // Sequence b's prompt starts at token b (so the three differ) and goes on
  // with its own continuation.
  auto token = [&](std::int64_t b, std::int64_t i) { return ids_[static_cast<std::size_t>(b + i)]; };
  std::vector<std::int32_t> padded(static_cast<std::size_t>(batch * seq), 0);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < lengths[static_cast<std::size_t>(b)]; ++i)
      padded[static_cast<std::size_t>(b * seq + i)] = token(b, i);
  const double tol = testing::kLogitTolerance;
  double worst = 0;
  auto expect_row = [&](const Matrix &got, std::int64_t row, const Matrix &want, const std::string &what) {
    for (std::int64_t c = 0; c < got.cols; ++c) {
      const double d = std::abs(double(got.row(row)[c]) - want.row(0)[c]);
      worst = std::max(worst, d);
      ASSERT_LE(d, tol) << what << ", column " << c;
    }
  };

  KvCache batched = forward_->make_cache(batch, capacity);
  std::vector<KvCache> alone;
  for (std::int64_t b = 0; b < batch; ++b) alone.push_back(forward_->make_cache(1, capacity));
  Matrix got = forward_->run(test_compute(), padded, batch, seq, &batched, true, lengths);
  ASSERT_EQ(got.rows, batch);
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto n = lengths[static_cast<std::size_t>(b)];
    EXPECT_EQ(batched.length(0, b), n);
    const std::vector<std::int32_t> prompt(ids_.begin() + b, ids_.begin() + b + n);
    const Matrix want = forward_->run(test_compute(), prompt, 1, n, &alone[static_cast<std::size_t>(b)], true);
    expect_row(got, b, want, "prefill, sequence " + std::to_string(b));
  }
  // Decode steps; sequence 2 finishes after the first (count 0 from then on).
  for (std::int64_t step = 0; step < steps; ++step) {
    const std::vector<std::int64_t> counts = {1, 1, step == 0 ? 1 : 0};
    std::vector<std::int32_t> next(static_cast<std::size_t>(batch));
    for (std::int64_t b = 0; b < batch; ++b)
      next[static_cast<std::size_t>(b)] = token(b, batched.length(0, b));
    got = forward_->run(test_compute(), next, batch, 1, &batched, true, counts);
    for (std::int64_t b = 0; b < batch; ++b) {
      if (counts[static_cast<std::size_t>(b)] == 0) continue;
      const Matrix want = forward_->run(test_compute(), std::span(next).subspan(static_cast<std::size_t>(b), 1), 1,
                                        1, &alone[static_cast<std::size_t>(b)], true);
      expect_row(got, b, want, "step " + std::to_string(step) + ", sequence " + std::to_string(b));
    }
  }
  EXPECT_EQ(batched.length(0, 0), 5 + steps);
  EXPECT_EQ(batched.length(0, 1), 9 + steps);
  EXPECT_EQ(batched.length(0, 2), 2 + 1);
  std::printf("%s: ragged batch vs separate runs, largest logit difference %.2e (tolerance %.0e)\n", GetParam(),
              worst, tol);
  // Sequence 1 (length 12) cannot take a 1-row step past the capacity 12,
  // even with count 0: the padding row is stored too. Refused whole.
  const std::int32_t three[] = {1, 2, 3};
  const std::int64_t none[] = {0, 0, 0};
  EXPECT_THROW(forward_->run(test_compute(), three, batch, 1, &batched, true, none), Error);
  EXPECT_EQ(batched.length(0, 0), 5 + steps);
  const std::int64_t too_many[] = {2, 0, 0};
  EXPECT_THROW(forward_->run(test_compute(), three, batch, 1, &batched, true, too_many), Error);
}

TEST_P(ForwardTest, StreamingBlocksFromTheCheckpointGivesTheSameLogits) {
  const ModelSpec &spec = model_->spec();
  const auto n = static_cast<std::int64_t>(ids_.size());
  const GlobalWeights g = load_global_weights(spec, model_->weights());
  Matrix hidden = embed(test_compute(), spec, g, ids_, 1, n);
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer)
    block_forward(test_compute(), spec, load_block_weights(spec, model_->weights(), layer), hidden, 1, n);
  EXPECT_EQ(logits(test_compute(), spec, g, hidden).data, forward_->run(test_compute(), ids_, 1, n).data);
}

// A block read with its tensors as tasks (load_block_weights' for_each, as
// the quantize pipeline's reader runs them on its threads): here each task
// on a thread of its own, started in reverse order, and the same weights as
// the block read in order.
TEST_P(ForwardTest, ABlockReadOnSeveralThreadsIsTheBlockReadInOrder) {
  const ModelSpec &spec = model_->spec();
  const BlockWeights in_order = load_block_weights(spec, model_->weights(), 1);
  std::int64_t tasks = 0;
  const BlockWeights threaded = load_block_weights(
      spec, model_->weights(), 1, QuantizedLinears::Dequantize,
      [&](std::int64_t count, const std::function<void(std::int64_t)> &task) {
        tasks = count;
        std::vector<std::thread> threads;
        for (std::int64_t i = count - 1; i >= 0; --i) threads.emplace_back([&task, i] { task(i); });
        for (std::thread &t : threads) t.join();
      });
  EXPECT_EQ(tasks, static_cast<std::int64_t>(in_order.linears.size() + in_order.norms.size()));
  EXPECT_EQ(threaded.layer, 1);
  ASSERT_EQ(threaded.linears.size(), in_order.linears.size());
  ASSERT_EQ(threaded.norms.size(), in_order.norms.size());
  for (const auto &[name, lin] : in_order.linears) {
    const LinearWeights &got = threaded.linear(name);
    EXPECT_EQ(got.out_features, lin.out_features) << name;
    EXPECT_EQ(got.in_features, lin.in_features) << name;
    EXPECT_EQ(got.weight, lin.weight) << name;
    EXPECT_EQ(got.bias, lin.bias) << name;
  }
  for (const auto &[name, norm] : in_order.norms) {
    EXPECT_EQ(threaded.norm(name).weight, norm.weight) << name;
    EXPECT_EQ(threaded.norm(name).bias, norm.bias) << name;
  }
}

TEST_P(ForwardTest, ObserverSeesEveryLinearInputInOrder) {
  const ModelSpec &spec = model_->spec();
  const auto n = static_cast<std::int64_t>(ids_.size());
  Matrix hidden = embed(test_compute(), spec, forward_->globals(), ids_, 1, n);
  std::vector<std::string> seen;
  block_forward(test_compute(), spec, forward_->block(0), hidden, 1, n, [&](std::string_view name, const Matrix &x) {
    seen.emplace_back(name);
    EXPECT_EQ(x.rows, n);
    EXPECT_EQ(x.cols, forward_->block(0).linear(name).in_features) << name;
    return ObserverReply::kRunOn;
  });
  const BlockLayout &l = spec.arch->block_layout;
  std::vector<std::string> want = {std::string(l.q), std::string(l.k), std::string(l.v), std::string(l.o)};
  if (!l.gate.empty()) want.emplace_back(l.gate);
  want.emplace_back(l.up);
  want.emplace_back(l.down);
  EXPECT_EQ(seen, want);
  // Every sublayer of the true-sequential order is observed.
  for (const auto &group : spec.arch->sequential_groups)
    for (std::string_view name : group) EXPECT_NE(std::find(seen.begin(), seen.end(), name), seen.end()) << name;
}

// An observer that stops the run ends it before the linear it saw: nothing
// after it is observed (nor computed), and the call returns normally.
TEST_P(ForwardTest, AnObserverThatStopsEndsTheRunBeforeTheLinear) {
  const ModelSpec &spec = model_->spec();
  const auto n = static_cast<std::int64_t>(ids_.size());
  const BlockLayout &l = spec.arch->block_layout;
  const Matrix input = embed(test_compute(), spec, forward_->globals(), ids_, 1, n);
  for (const std::string_view last : {l.q, l.o, l.up, l.down}) {
    Matrix hidden = input;
    std::vector<std::string> seen;
    block_forward(test_compute(), spec, forward_->block(0), hidden, 1, n, [&](std::string_view name, const Matrix &) {
      seen.emplace_back(name);
      return name == last ? ObserverReply::kStop : ObserverReply::kRunOn;
    });
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back(), last);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), std::string(last)), 1) << last;
  }
}

// The pipeline computes one Hessian per sequential group: its members must
// run on one and the same input.
TEST_P(ForwardTest, MembersOfASequentialGroupShareOneInput) {
  const ModelSpec &spec = model_->spec();
  const auto n = static_cast<std::int64_t>(ids_.size());
  Matrix hidden = embed(test_compute(), spec, forward_->globals(), ids_, 1, n);
  std::map<std::string, const Matrix *, std::less<>> input_of;
  block_forward(test_compute(), spec, forward_->block(0), hidden, 1, n,
                [&](std::string_view name, const Matrix &x) { input_of[std::string(name)] = &x; return ObserverReply::kRunOn; });
  for (const auto &group : spec.arch->sequential_groups) {
    ASSERT_TRUE(input_of.contains(group.front())) << group.front();
    for (std::string_view name : group) EXPECT_EQ(input_of[std::string(name)], input_of[std::string(group.front())]) << name;
  }
}

// The observer may replace the weights of the linear it is called for: the
// linear runs with them.
TEST_P(ForwardTest, WeightsReplacedByTheObserverRun) {
  const ModelSpec &spec = model_->spec();
  const auto n = static_cast<std::int64_t>(ids_.size());
  const Matrix input = embed(test_compute(), spec, forward_->globals(), ids_, 1, n);
  BlockWeights zeroed = load_block_weights(spec, model_->weights(), 1);
  BlockWeights observed = zeroed;
  const std::string_view down = spec.arch->block_layout.down;
  std::fill(zeroed.linear(down).weight.begin(), zeroed.linear(down).weight.end(), 0.0f);
  Matrix want = input;
  block_forward(test_compute(), spec, zeroed, want, 1, n);
  Matrix got = input;
  block_forward(test_compute(), spec, observed, got, 1, n, [&](std::string_view name, const Matrix &) {
    if (name == down) std::fill(observed.linear(down).weight.begin(), observed.linear(down).weight.end(), 0.0f);
    return ObserverReply::kRunOn;
  });
  EXPECT_EQ(got.data, want.data);
}

TEST_P(ForwardTest, MutatedWeightsTakeEffect) {
  const ModelSpec &spec = model_->spec();
  const auto n = static_cast<std::int64_t>(ids_.size());
  BlockWeights w = load_block_weights(spec, model_->weights(), 2);
  const Matrix input = embed(test_compute(), spec, forward_->globals(), ids_, 1, n);
  // With both residual branches' outputs zeroed, a pre-norm block is the identity.
  for (std::string_view name : {spec.arch->block_layout.o, spec.arch->block_layout.down}) {
    LinearWeights &lin = w.linear(name);
    std::fill(lin.weight.begin(), lin.weight.end(), 0.0f);
    std::fill(lin.bias.begin(), lin.bias.end(), 0.0f);
  }
  Matrix hidden = input;
  block_forward(test_compute(), spec, w, hidden, 1, n);
  EXPECT_EQ(hidden.data, input.data);
  EXPECT_THROW(w.linear("no_such.proj"), Error);
}

TEST_P(ForwardTest, BadIdsAndShapesAreRefused) {
  std::vector<std::int32_t> bad = {1, static_cast<std::int32_t>(model_->spec().vocab_size)};
  EXPECT_THROW(forward_->run(test_compute(), bad, 1, 2), Error);
  EXPECT_THROW(forward_->run(test_compute(), ids_, 2, 3), Error);
  Matrix wrong(3, 5);
  EXPECT_THROW(block_forward(test_compute(), model_->spec(), forward_->block(0), wrong, 1, 3), Error);
}

INSTANTIATE_TEST_SUITE_P(TestModels, ForwardTest, ::testing::Values("docs-llama-16m", "docs-opt-15m"));

}  // namespace
}  // namespace gptq::model
