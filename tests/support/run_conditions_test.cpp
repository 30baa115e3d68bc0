// The conditions this run of the suite has, printed, and checked against what
// was asked for. scripts/test.sh runs the asan preset's suite under OpenBLAS
// kernels other than this CPU's own (OPENBLAS_CORETYPE) and on one thread
// (GPTQ_TEST_CPUS=1 with tests/support/cpu_count_override.c preloaded, and
// OPENBLAS_NUM_THREADS=1); a run that silently kept this CPU's kernels or all
// its cores would prove nothing, so this test fails then.
#include <cblas.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "gptq/gptq.h"

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string env(const char *name) {
  const char *v = std::getenv(name);
  return v ? v : "";
}

TEST(RunConditions, AreWhatWasAskedFor) {
  const std::string core = openblas_get_corename();
  const int blas_threads_at_start = openblas_get_num_threads();
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &ctx), GPTQ_OK) << gptq_last_error();
  const char *json = nullptr;
  ASSERT_EQ(gptq_context_runtime_json(ctx, &json), GPTQ_OK);
  const int threads = nlohmann::json::parse(json)["threads"];
  gptq_context_destroy(ctx);
  std::printf("run conditions: OpenBLAS %s kernels, %d OpenBLAS threads at start; a context's \"threads\": 0 "
              "means %d; hardware_concurrency %u\n",
              core.c_str(), blas_threads_at_start, threads, std::thread::hardware_concurrency());

  if (const std::string want = env("OPENBLAS_CORETYPE"); !want.empty()) {
    EXPECT_EQ(lower(core), lower(want)) << "OPENBLAS_CORETYPE=" << want << " did not take effect";
  }
  if (const std::string cpus = env("GPTQ_TEST_CPUS"); !cpus.empty()) {
    EXPECT_EQ(threads, std::stoi(cpus))
        << "GPTQ_TEST_CPUS=" << cpus << " did not reach the library: is libgptq_test_cpu_count.so in LD_PRELOAD?";
    EXPECT_EQ(static_cast<int>(std::thread::hardware_concurrency()), std::stoi(cpus));
  }
  if (const std::string blas = env("OPENBLAS_NUM_THREADS"); !blas.empty()) {
    EXPECT_EQ(blas_threads_at_start, std::stoi(blas));
  }
}

}  // namespace
