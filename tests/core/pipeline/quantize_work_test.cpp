// QuantizeWork: the total is the sum of the steps the pipeline takes, in
// each mode, and the steps are weighted by their cost (a Hessian grows with
// the square of its inputs, not by one per sublayer). That the pipeline
// takes exactly these steps is tested through the C API
// (tests/capi/progress_test.cpp: the last report is done == total).
#include "core/pipeline/quantize_work.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>

#include "core/model/model_config.h"
#include "core/quant/work_estimate.h"

namespace gptq::quant {
namespace {

// Llama-2-7B's shapes, two blocks.
model::ModelSpec llama7b() {
  return model::parse_model_config(R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 4096, "intermediate_size": 11008, "num_attention_heads": 32, "num_key_value_heads": 32,
    "num_hidden_layers": 2, "vocab_size": 32000, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
    "hidden_act": "silu", "tie_word_embeddings": false})",
                                   "llama7b");
}

schema::QuantizeConfigT config() {
  schema::QuantizeConfigT c;
  c.true_sequential = true;
  return c;
}

// The sum of the steps the pipeline takes (core/pipeline/quantize_work.h).
std::uint64_t sum_of_steps(const model::ModelSpec &spec, const schema::QuantizeConfigT &c, const QuantizeWork &w) {
  std::uint64_t sum = 0;
  const auto &groups = spec.arch->sequential_groups;
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    for (std::size_t g = 0; g < groups.size(); ++g) {
      for (std::string_view name : groups[g])
        sum += c.method == schema::QuantizeMethod::rtn ? w.rtn(layer, name) : w.solve(layer, name);
      if (c.method != schema::QuantizeMethod::rtn) sum += w.forward(g) + w.hessian(layer, g);
    }
    if (c.method != schema::QuantizeMethod::rtn && !c.true_sequential) sum += w.block_forward();
  }
  return sum;
}

TEST(QuantizeWork, TheTotalIsTheSumOfTheStepsInEveryMode) {
  const model::ModelSpec spec = llama7b();
  schema::QuantizeConfigT c = config();
  const QuantizeWork sequential(spec, c, 128, 2048);
  EXPECT_EQ(sequential.total(), sum_of_steps(spec, c, sequential));

  c.true_sequential = false;
  const QuantizeWork all_at_once(spec, c, 128, 2048);
  EXPECT_EQ(all_at_once.total(), sum_of_steps(spec, c, all_at_once));
  EXPECT_EQ(all_at_once.total(), sequential.total() + 2 * sequential.block_forward());

  c = config();
  c.modules_to_skip = {"mlp.down_proj"};
  const QuantizeWork skipping(spec, c, 128, 2048);
  EXPECT_EQ(skipping.total(), sum_of_steps(spec, c, skipping));
  EXPECT_EQ(skipping.solve(0, "mlp.down_proj"), 0u);
  EXPECT_EQ(skipping.hessian(1, 3), 0u);  // the down_proj group: all of it skipped
  EXPECT_EQ(skipping.total(), sequential.total() - 2 * (sequential.solve(0, "mlp.down_proj") + sequential.hessian(0, 3)));

  c = config();
  c.compare_rtn = true;
  const QuantizeWork comparing(spec, c, 128, 2048);
  EXPECT_EQ(comparing.total(), sum_of_steps(spec, c, comparing));
  EXPECT_GT(comparing.solve(0, "self_attn.q_proj"), sequential.solve(0, "self_attn.q_proj"));

  c = config();
  c.method = schema::QuantizeMethod::rtn;
  const QuantizeWork rtn(spec, c, 0, 0);
  EXPECT_EQ(rtn.total(), sum_of_steps(spec, c, rtn));
  EXPECT_EQ(rtn.forward(0), 0u);
}

// The sum of the steps of a run in chunks of `per_chunk` windows
// (core/pipeline/quantize_model.cpp's quantize_block_in_chunks): each pass
// runs every chunk through the block, its forward steps group by group; a
// true-sequential group's pass stops at the group's input.
std::uint64_t sum_of_chunked_steps(const model::ModelSpec &spec, const schema::QuantizeConfigT &c,
                                   const QuantizeWork &w, std::int64_t batch, std::int64_t per_chunk) {
  std::uint64_t sum = 0;
  const auto &groups = spec.arch->sequential_groups;
  auto pass = [&](std::int64_t layer, std::optional<std::size_t> only) {
    for (std::int64_t first = 0; first < batch; first += per_chunk) {
      const std::int64_t windows = std::min(per_chunk, batch - first);
      for (std::size_t g = 0; g < groups.size(); ++g) {
        if (!only || *only == g) sum += w.hessian(layer, g, windows);
        if ((only && *only == g) || g + 1 == groups.size()) break;  // no pass runs the last group here
        sum += w.forward(g, windows);
      }
    }
  };
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    for (const auto &group : groups)
      for (std::string_view name : group) sum += w.solve(layer, name);
    if (c.true_sequential) {
      for (std::size_t g = 0; g < groups.size(); ++g)
        if (w.hessian(layer, g) > 0) pass(layer, g);
    } else {
      pass(layer, std::nullopt);
    }
    for (std::int64_t first = 0; first < batch; first += per_chunk)
      sum += w.block_forward(std::min(per_chunk, batch - first));
  }
  return sum;
}

TEST(QuantizeWork, ChunkedRunsCountEveryPass) {
  const model::ModelSpec spec = llama7b();
  for (const bool sequential : {true, false}) {
    for (const bool skip : {false, true}) {
      SCOPED_TRACE(std::string(sequential ? "true-sequential" : "all at once") + (skip ? ", down_proj skipped" : ""));
      schema::QuantizeConfigT c = config();
      c.true_sequential = sequential;
      if (skip) c.modules_to_skip = {"mlp.down_proj"};
      const QuantizeWork chunked(spec, c, 128, 2048, 48);  // 48 + 48 + 32
      EXPECT_EQ(chunked.total(), sum_of_chunked_steps(spec, c, chunked, 128, 48));
      const QuantizeWork whole(spec, c, 128, 2048);
      EXPECT_EQ(QuantizeWork(spec, c, 128, 2048, 128).total(), whole.total()) << "one chunk: the steps without";
      EXPECT_EQ(QuantizeWork(spec, c, 128, 2048, 0).total(), whole.total());
      // A true-sequential run passes over the block once per group with a
      // Hessian, up to the group's input, and once more whole, where the run
      // without chunks passes once; else twice, the float pass up to the
      // last group's input with chunks.
      auto over_chunks = [&](std::size_t g) {
        return static_cast<double>(2 * chunked.forward(g, 48) + chunked.forward(g, 32));
      };
      const double forward = static_cast<double>(2 * chunked.block_forward(48) + chunked.block_forward(32));
      EXPECT_NEAR(forward / static_cast<double>(whole.block_forward()), 1.0, 0.01) << "the chunks make the whole";
      // q/k/v's pass: none; o's: q/k/v and attention; gate/up's: also o; down's: also gate/up.
      double extra_per_block = -over_chunks(3);  // not true-sequential: the float pass stops before down
      if (sequential) {
        extra_per_block = skip ? 2 * over_chunks(0) + over_chunks(1)
                               : 3 * over_chunks(0) + 2 * over_chunks(1) + over_chunks(2);
        EXPECT_LT(extra_per_block, (skip ? 1.5 : 2.5) * forward) << "the passes stop at their group";
      }
      const double extra = static_cast<double>(chunked.total()) - static_cast<double>(whole.total());
      EXPECT_NEAR(extra, extra_per_block * static_cast<double>(spec.num_layers),
                  0.01 * static_cast<double>(whole.total()));
    }
  }
}

TEST(QuantizeWork, StepsAreWeightedByTheirCost) {
  const model::ModelSpec spec = llama7b();
  const QuantizeWork w(spec, config(), 128, 2048);
  // Hessians: tokens x K^2 / 2. down_proj's 11008 inputs against q/k/v's 4096.
  const double ratio = static_cast<double>(w.hessian(0, 3)) / static_cast<double>(w.hessian(0, 0));
  EXPECT_NEAR(ratio, (11008.0 / 4096.0) * (11008.0 / 4096.0), 0.01);
  EXPECT_EQ(w.hessian(0, 0), (hessian_work(4096, 128 * 2048, false) + kWorkUnit - 1) / kWorkUnit);
  // Solves grow with K^3 (the factorization) and K^2 N: down_proj costs most.
  EXPECT_GT(w.solve(0, "mlp.down_proj"), w.solve(0, "mlp.up_proj"));
  EXPECT_GT(w.solve(0, "mlp.up_proj"), w.solve(0, "self_attn.q_proj"));
  EXPECT_EQ(w.solve(0, "self_attn.q_proj"), w.solve(1, "self_attn.k_proj"));
  // A block's forward pass is its linears' products plus attention.
  std::uint64_t linears = 0;
  for (std::int64_t out_in : {4096LL * 4096 * 4, 11008LL * 4096 * 3}) linears += static_cast<std::uint64_t>(out_in);
  EXPECT_GE(w.block_forward() * kWorkUnit, linears * 128 * 2048);
  // Unlike one unit per sublayer, the steps of one block differ by far more than 2x.
  EXPECT_GT(w.hessian(0, 3) + w.solve(0, "mlp.down_proj"), 4 * w.solve(0, "self_attn.o_proj"));
}

}  // namespace
}  // namespace gptq::quant
