// GPTQ end to end, on any CPU: the test model quantized here with GPTQ (the
// QuantizeConfig of each tests/data/reference/ppl_gptq_*.json), then its
// perplexity on the first windows of a held-out text, against the perplexity
// that the PyTorch reference of the pipeline reaches on the GPU machine from
// the same calibration windows (tests/reference/gptq_ppl_reference.py).
//
// GPTQ's codes depend on rounding: another BLAS kernel or thread split adds a
// sum in another order, a code near a rounding boundary flips, and the error
// feedback carries the change on. So the checkpoint is not compared bit for
// bit (logits_reference_test does that for round-to-nearest, which has no
// sums) but by a perplexity band as wide as rounding moves it (kBand), around
// the mean of the reference's runs. 3 bits, because at 4 bits (16
// calibration windows, these 16 eval windows) rounding alone moved the
// reference's perplexity by up to 0.8%, and round-to-nearest lies only 0.4%
// (llama) and 1.1% (opt) above GPTQ: no band could tell them apart. At 3 bits
// GPTQ gains 4-10% over round-to-nearest.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/eval/perplexity.h"
#include "core/io/read_file.h"
#include "core/model/model.h"
#include "tests/support/quantize_shared.h"
#include "tests/support/sanitizers.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"
#include "tests/support/test_engines.h"

namespace gptq::eval {
namespace {

// |ours / center - 1| allowed, where center is the mean perplexity of the
// reference's runs (its windows in libgptq's order, reversed, and in 4 seeded
// orders). Measured on the goldens' 16 windows of docs_heldout, as deviations
// from that center: the reference's 6 runs on an H200, -1.1% to +1.2%
// (llama) and -0.6% to +1.2% (opt); ours on a 2-core AMD EPYC under
// OpenBLAS's Haswell, Zen, SkylakeX, Cooperlake, Sandybridge, Nehalem and
// Prescott kernels with 1 and 2 threads, -1.5% to +0.4% (llama) and -0.4% to
// +0.8% (opt). The band is twice the largest of these, rounded up; round-to-
// nearest lies at +4.2% (llama) and +10.3% (opt), outside it.
constexpr double kBand = 0.035;

void check(const nlohmann::json &ref) {
  const std::string name = ref["model"];
  GPTQ_REQUIRE_SHARED(source, "models/" + name);
  GPTQ_REQUIRE_SHARED(text, ref["text"].get<std::string>());
  const auto dir = testing::quantize_shared_model(source, ref["quantize"], "gptq_ppl");
  double ppl = 0;
  {
    const auto model = model::Model::open(dir);
    const auto forward = test_prepare(*model);
    const std::vector<std::int32_t> ids = model->tokenizer()->encode(io::read_text_file(text, 64 << 20));
    ppl = perplexity(test_pool(), test_forward_engine(), *forward, ids, {ref["seqlen"].get<std::int64_t>(), ref["windows"].get<std::int64_t>()}).ppl;
  }
  std::filesystem::remove_all(dir);
  std::vector<double> runs = ref["reference_reordered_ppl"];
  runs.push_back(ref["reference_ppl"]);
  double center = 0;
  for (double r : runs) center += r / static_cast<double>(runs.size());
  const double rtn = ref["rtn_ppl"];
  std::printf("%s: GPTQ perplexity %.6f, the reference's %.6f (mean of %zu runs; ratio %.5f); float %.4f, "
              "round-to-nearest %.4f\n",
              name.c_str(), ppl, center, runs.size(), ppl / center, ref["float_ppl"].get<double>(), rtn);
  EXPECT_NEAR(ppl / center, 1.0, kBand) << name << ": ours " << ppl << ", the reference pipeline's " << center;
  // Else the band would pass a quantizer no better than rounding to nearest.
  EXPECT_GT(rtn / center - 1.0, kBand) << name << ": round-to-nearest is inside the band; choose another config";
}

TEST(GptqPerplexity, WithinRoundingOfTheReferencePipeline) {
#ifdef GPTQ_UNDER_ASAN
  GTEST_SKIP() << "GPTQ on a whole model runs in the unsanitized preset only (slow under ASan)";
#endif
  const auto files = testing::reference_files("ppl_gptq_");
  ASSERT_FALSE(files.empty()) << "no tests/data/reference/ppl_gptq_*.json";
  for (const auto &file : files) {
    SCOPED_TRACE(file.filename().string());
    std::ifstream in(file);
    check(nlohmann::json::parse(in));
  }
}

}  // namespace
}  // namespace gptq::eval
