// Logits and greedy continuations against transformers in fp32 (every
// tests/data/reference/logits_*.json, written on the GPU machine by
// tests/reference/logits_reference.py): the float models as stored, and GPTQ
// checkpoints, which this test makes itself with the recorded QuantizeConfig
// (the reference ran the float model our checkpoint's weights stand for).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/config/typed.h"
#include "core/eval/generate.h"
#include "core/log.h"
#include "core/model/forward.h"
#include "core/model/model.h"
#include "core/progress.h"
#include "core/quant/quantize_model.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"

// gcc says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer).
#if defined(__SANITIZE_ADDRESS__)
#define GPTQ_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GPTQ_UNDER_ASAN 1
#endif
#endif

namespace gptq::model {
namespace {

constexpr double kTolerance = 2e-3;   // fp32 vs fp32 with other summation orders
constexpr double kMinCosine = 0.9999;  // of the last position's logits

std::vector<std::filesystem::path> reference_files() {
  std::vector<std::filesystem::path> files;
  for (const auto &e : std::filesystem::directory_iterator(testing::source_dir() / "tests/data/reference"))
    if (e.path().filename().string().starts_with("logits_") && e.path().extension() == ".json")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// The checkpoint the reference describes: the shared model quantized with the
// recorded config (calibration files relative to ../shared).
std::filesystem::path quantized(const std::filesystem::path &source, const nlohmann::json &config_json) {
  nlohmann::json cfg = config_json;
  for (auto &f : cfg["calibration"]["files"]) f = testing::shared_path(f.get<std::string>()).string();
  const auto out = std::filesystem::temp_directory_path() /
                   ("gptq_logits_ref_" + source.filename().string() + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(out);
  Logger log;
  quant::quantize_model(*Model::open(source), config::parse_quantize_config(cfg.dump()), out, {}, test_pool(), Progress(),
                        log);
  return out;
}

void check_model(const nlohmann::json &ref, const nlohmann::json &entry) {
  const std::string name = entry["model"];
  GPTQ_REQUIRE_SHARED(source, "models/" + name);
  std::filesystem::path dir = source;
  if (entry.contains("quantize")) {
#ifdef GPTQ_UNDER_ASAN
    GTEST_SKIP() << "quantizing " << name << " runs in the unsanitized preset only (slow under ASan)";
#endif
    dir = quantized(source, entry["quantize"]);
  }
  {
    const auto model = Model::open(dir);
    const Forward forward(model->spec(), model->weights());
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
        EXPECT_NEAR(max, p["max_logit"][r].get<double>(), kTolerance) << "position " << r;
        EXPECT_NEAR(max + std::log(sum), p["logsumexp"][r].get<double>(), kTolerance) << "position " << r;
        const std::int32_t want = p["argmax"][r];
        EXPECT_NEAR(row[want], max, kTolerance) << "position " << r << ": argmax " << want << " is not (near) ours";
      }
      const float *last = logits.row(n - 1);
      for (std::size_t i = 0; i < p["last_top_ids"].size(); ++i)
        EXPECT_NEAR(last[p["last_top_ids"][i].get<int>()], p["last_top_logits"][i].get<double>(), kTolerance);
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
          eval::generate(test_pool(), forward, *model->tokenizer(), p["prompt"].get<std::string>(), config);
      std::vector<std::int32_t> want = p["greedy_ids"];
      const auto eos = std::find_first_of(want.begin(), want.end(), model->spec().eos_token_ids.begin(),
                                          model->spec().eos_token_ids.end());
      want.erase(eos, want.end());  // we stop at EOS without returning it
      EXPECT_EQ(g.tokens, want);
      // HF's greedy_text decodes the new tokens alone, so a SentencePiece-style
      // decoder strips the first word's space; our stream keeps it (it decodes
      // after the prompt). The tokens above are the real check.
      const std::string want_text = p["greedy_text"];
      EXPECT_TRUE(g.text == want_text || g.text == " " + want_text) << g.text;
    }
  }
  if (dir != source) std::filesystem::remove_all(dir);
}

TEST(LogitsReference, MatchesTransformers) {
  const auto files = reference_files();
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
