// Logits and greedy continuations against transformers in fp32 (every
// tests/data/reference/logits_*.json, written on the GPU machine by
// tests/reference/logits_reference.py): the float models as stored, and
// quantized checkpoints, which this test makes itself with the recorded
// QuantizeConfig (the reference ran the float model our checkpoint's weights
// stand for).
//
// A quantized entry must name a checkpoint that every machine makes bit for
// bit: round-to-nearest has no sum in it (min/max, one division, rounding), so
// its codes and scales do not depend on BLAS kernels, thread counts or the
// CPU. GPTQ's do: a sum rounded otherwise flips a code now and then and the
// logits move by 0.1-0.6 (docs-llama-16m, AMD EPYC vs the GPU machine's Xeon),
// so GPTQ is checked end to end by gptq_perplexity_test instead. The entry
// records the fingerprint of the reference's checkpoint (every tensor's
// SHA-256), and this test first checks that it made that very checkpoint.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/eval/generate.h"
#include "core/model/forward.h"
#include "core/model/model.h"
#include "tests/support/checkpoint_fingerprint.h"
#include "tests/support/quantize_shared.h"
#include "tests/support/logit_tolerance.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"
#include "tests/support/test_engines.h"

namespace gptq::model {
namespace {

// How far another summation order may move a logit (tests/support/
// logit_tolerance.h, measured on the 2-core AMD EPYC); below the goldens'
// smallest greedy margin (9.2e-3).
constexpr double kTolerance = testing::kLogitTolerance;
constexpr double kMinCosine = 0.9999;  // of the last position's logits

void check_model(const nlohmann::json &ref, const nlohmann::json &entry) {
  const std::string name = entry["model"];
  GPTQ_REQUIRE_SHARED(source, "models/" + name);
  std::filesystem::path dir = source;
  if (entry.contains("quantize")) {
    ASSERT_TRUE(entry.contains("checkpoint_tensors"))
        << name << ": a quantized entry must carry its checkpoint's fingerprint (tests/reference/logits_reference.py)";
    dir = testing::quantize_shared_model(source, entry["quantize"], "logits_ref");
    const std::string differences =
        testing::fingerprint_differences(entry["checkpoint_tensors"], testing::checkpoint_fingerprint(dir));
    if (!differences.empty()) {
      std::filesystem::remove_all(dir);
      FAIL() << name << ": the checkpoint made here with " << entry["quantize"].dump()
             << " is not the one the reference ran (its fingerprint differs), so its logits cannot be compared:\n"
             << differences << "Remake the golden (tests/reference/logits_reference.py) if the quantizer or "
             << "the checkpoint writer changed on purpose.";
    }
  }
  {
    const auto model = Model::open(dir);
    const Forward forward(model->spec(), model->weights());
    const auto prepared = test_prepare(*model);  // what generation runs on
    double worst = 0;  // printed: the figure kTolerance is set against
    double smallest_margin = INFINITY;  // between the two best logits of a greedy step, printed
    const auto near = [&](double ours, double want, const std::string &what) {
      worst = std::max(worst, std::fabs(ours - want));
      EXPECT_NEAR(ours, want, kTolerance) << what;
    };
    for (const auto &p : entry["prompts"]) {
      SCOPED_TRACE(name + ": " + p["prompt"].get<std::string>());
      const std::vector<std::int32_t> ids = p["input_ids"];
      ASSERT_EQ(model->tokenizer()->encode(p["prompt"].get<std::string>()), ids);
      const auto n = static_cast<std::int64_t>(ids.size());
      const Matrix logits = forward.run(test_compute(), ids, 1, n);
      for (std::int64_t r = 0; r < n; ++r) {
        const float *row = logits.row(r);
        const float max = *std::max_element(row, row + logits.cols);
        double sum = 0;
        for (std::int64_t c = 0; c < logits.cols; ++c) sum += std::exp(double(row[c]) - max);
        near(max, p["max_logit"][r].get<double>(), "max logit, position " + std::to_string(r));
        near(max + std::log(sum), p["logsumexp"][r].get<double>(), "logsumexp, position " + std::to_string(r));
        const std::int32_t want = p["argmax"][r];
        EXPECT_NEAR(row[want], max, kTolerance) << "position " << r << ": argmax " << want << " is not (near) ours";
      }
      const float *last = logits.row(n - 1);
      for (std::size_t i = 0; i < p["last_top_ids"].size(); ++i)
        near(last[p["last_top_ids"][i].get<int>()], p["last_top_logits"][i].get<double>(),
             "top logit " + std::to_string(i) + " of the last position");
      if (p.contains("last_logits")) {
        const std::vector<double> want = p["last_logits"];
        ASSERT_EQ(static_cast<std::int64_t>(want.size()), logits.cols);
        double dot = 0, a2 = 0, b2 = 0;
        for (std::int64_t c = 0; c < logits.cols; ++c) {
          dot += last[c] * want[static_cast<std::size_t>(c)];
          a2 += double(last[c]) * last[c];
          b2 += want[static_cast<std::size_t>(c)] * want[static_cast<std::size_t>(c)];
        }
        const double cosine = dot / std::sqrt(a2 * b2);
        EXPECT_GE(cosine, kMinCosine);
        std::printf("%s %s: cosine of the last logits %.10f (1 - cosine %.1e)\n", name.c_str(), dir.filename().c_str(), cosine, 1 - cosine);
      }

      const auto config = config::parse_generation_config(
          R"({"temperature": 0, "max_new_tokens": )" + std::to_string(ref["new_tokens"].get<int>()) + "}");
      const eval::GenerationResult g =
          eval::generate(test_pool(), test_forward_engine(), *prepared, *model->tokenizer(), p["prompt"].get<std::string>(), config);
      std::vector<std::int32_t> want = p["greedy_ids"];
      const auto eos = std::find_first_of(want.begin(), want.end(), model->spec().eos_token_ids.begin(),
                                          model->spec().eos_token_ids.end());
      // Greedy decoding is discontinuous: a step whose two best logits were
      // closer than rounding moves them would make the tokens after it depend
      // on the CPU. Every step's margin (teacher-forced on the reference's
      // tokens, EOS included) must exceed the tolerance for the tokens to be
      // compared exactly; the smallest is printed.
      {
        std::vector<std::int32_t> all = ids;
        all.insert(all.end(), want.begin(), want.end());
        const Matrix steps = forward.run(test_compute(), all, 1, static_cast<std::int64_t>(all.size()));
        for (std::size_t i = 0; i < want.size(); ++i) {
          const float *row = steps.row(n - 1 + static_cast<std::int64_t>(i));
          std::vector<float> top(row, row + steps.cols);
          std::partial_sort(top.begin(), top.begin() + 2, top.end(), std::greater<>());
          smallest_margin = std::min(smallest_margin, double(top[0]) - top[1]);
          EXPECT_GT(double(top[0]) - top[1], kTolerance) << "greedy step " << i << ": a near-tie";
        }
      }
      want.erase(eos, want.end());  // we stop at EOS without returning it
      EXPECT_EQ(g.tokens, want);
      // HF's greedy_text decodes the new tokens alone, so a SentencePiece-style
      // decoder strips the first word's space; our stream keeps it (it decodes
      // after the prompt). The tokens above are the real check.
      const std::string want_text = p["greedy_text"];
      EXPECT_TRUE(g.text == want_text || g.text == " " + want_text) << g.text;
    }
    std::printf("%s %s: largest logit difference from transformers %.2e; smallest greedy margin %.2e\n",
                name.c_str(), dir.filename().c_str(), worst, smallest_margin);
  }
  if (dir != source) std::filesystem::remove_all(dir);
}

TEST(LogitsReference, MatchesTransformers) {
  const auto files = testing::reference_files("logits_");
  ASSERT_FALSE(files.empty()) << "no tests/data/reference/logits_*.json";
  for (const auto &file : files) {
    SCOPED_TRACE(file.filename().string());
    std::ifstream in(file);
    const nlohmann::json ref = nlohmann::json::parse(in);
    for (const auto &entry : ref["models"]) check_model(ref, entry);
  }
}

}  // namespace
}  // namespace gptq::model
