// Threads per context, through the C API as a host application sees them:
//  - the host's OpenBLAS thread count is the same after every kind of call
//    (and 1 while a call computes, seen from its progress callback);
//  - a context starts threads - 1 threads of its own and computes on them;
//  - results are the same bits on 1, 2 and 3 threads, and for two contexts
//    with different counts used at once from two threads.
#include <cblas.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "gptq/gptq.h"
#include "tests/support/random_matrix.h"
#include "tests/support/process_threads.h"
#include "tests/support/shared_data.h"

namespace {

namespace fs = std::filesystem;

// The demo model and texts the repository holds.
fs::path demo(const char *relative) { return gptq::testing::source_dir() / "demo" / relative; }

std::string read_file(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using ::gptq::testing::process_threads;
using ::gptq::testing::process_threads_after_exit;

using ::gptq::testing::random_matrix;

gptq_context *context(int threads) {
  gptq_context *ctx = nullptr;
  const std::string json = R"({"backend": "cpu", "threads": )" + std::to_string(threads) + "}";
  EXPECT_EQ(gptq_context_create(json.c_str(), &ctx), GPTQ_OK) << gptq_last_error();
  return ctx;
}

// What each kind of call computes, to compare across thread counts.
struct Results {
  std::vector<float> gptq_dequant, gptq_from_x_dequant, rtn_dequant;
  std::vector<int32_t> qweight;
  double loss = 0, ppl = 0;
  std::string text;
  bool operator==(const Results &) const = default;
};

// Larger than the 256-wide tiles of the products and the factorization, so
// every tiled path runs on several threads.
constexpr int64_t kRows = 520, kCols = 640, kTokens = 300;

// The inputs, made once.
struct Inputs {
  std::vector<float> w = random_matrix(kRows, kCols, 1);
  std::vector<float> x = random_matrix(kTokens, kCols, 2);
  std::vector<float> h;  // X^T X / n
  Inputs() : h(static_cast<size_t>(kCols * kCols), 0.0f) {
    for (int64_t t = 0; t < kTokens; ++t)
      for (int64_t i = 0; i < kCols; ++i) {
        const float xi = x[static_cast<size_t>(t * kCols + i)] / kTokens;
        float *row = &h[static_cast<size_t>(i * kCols)];
        const float *xt = &x[static_cast<size_t>(t * kCols)];
        for (int64_t j = 0; j < kCols; ++j) row[j] += xi * xt[j];
      }
  }
};
const Inputs &inputs() {
  static const Inputs in;
  return in;
}

Results compute_all(gptq_context *ctx) {
  Results r;
  const auto &w = inputs().w;
  const auto &x = inputs().x;
  const char *cfg = R"({"bits": 4, "group_size": 64, "desc_act": true})";
  gptq_matrix_result *m = nullptr;
  EXPECT_EQ(gptq_quantize_matrix(ctx, w.data(), kRows, kCols, nullptr, x.data(), kTokens, cfg, &m), GPTQ_OK)
      << gptq_last_error();
  const float *f = nullptr;
  const int32_t *q = nullptr;
  int64_t rows = 0, cols = 0;
  if (m) {
    gptq_matrix_result_dequantized(m, &f, &rows, &cols);
    r.gptq_from_x_dequant.assign(f, f + rows * cols);
    gptq_matrix_result_qweight(m, &q, &rows, &cols);
    r.qweight.assign(q, q + rows * cols);
    gptq_matrix_result_loss(m, &r.loss);
    gptq_matrix_result_destroy(m);
  }
  // With a Hessian given.
  const auto &h = inputs().h;
  m = nullptr;
  EXPECT_EQ(gptq_quantize_matrix(ctx, w.data(), kRows, kCols, h.data(), nullptr, 0, cfg, &m), GPTQ_OK);
  if (m) {
    gptq_matrix_result_dequantized(m, &f, &rows, &cols);
    r.gptq_dequant.assign(f, f + rows * cols);
    gptq_matrix_result_destroy(m);
  }
  m = nullptr;
  EXPECT_EQ(gptq_rtn_matrix(ctx, w.data(), kRows, kCols, cfg, &m), GPTQ_OK);
  if (m) {
    gptq_matrix_result_dequantized(m, &f, &rows, &cols);
    r.rtn_dequant.assign(f, f + rows * cols);
    gptq_matrix_result_destroy(m);
  }
  gptq_model *model = nullptr;
  EXPECT_EQ(gptq_model_open(ctx, demo("docs-llama-tiny").c_str(), &model), GPTQ_OK) << gptq_last_error();
  const std::string text = read_file(demo("text/eval.txt"));
  const char *report = nullptr;
  EXPECT_EQ(gptq_evaluate(ctx, model, text.data(), text.size(), R"({"seqlen": 128, "max_windows": 2})", nullptr,
                          nullptr, &report),
            GPTQ_OK)
      << gptq_last_error();
  if (report) r.ppl = nlohmann::json::parse(report).at("ppl").get<double>();
  gptq_session *s = nullptr;
  EXPECT_EQ(gptq_session_create(ctx, model, R"({"temperature": 0.8, "seed": 3, "max_new_tokens": 12})", &s),
            GPTQ_OK);
  const std::string prompt = "To create a table in PostgreSQL, use the";
  EXPECT_EQ(gptq_generate(s, prompt.data(), prompt.size(),
                          [](void *user, const char *piece, int32_t) {
                            *static_cast<std::string *>(user) += piece;
                            return 0;
                          },
                          &r.text),
            GPTQ_OK);
  gptq_session_destroy(s);
  gptq_model_destroy(model);
  return r;
}

// Quantizes the demo model; the checkpoint's files, by name.
std::vector<std::pair<std::string, std::string>> quantize_demo(gptq_context *ctx, const fs::path &out,
                                                               gptq_progress_fn fn = nullptr, void *user = nullptr) {
  fs::remove_all(out);
  const std::string cfg = R"({"bits": 4, "group_size": 64, "desc_act": true, "calibration": {"files": [")" +
                          demo("text/calib.txt").string() + R"("], "nsamples": 4, "seqlen": 64}})";
  const char *report = nullptr;
  EXPECT_EQ(gptq_quantize_model(ctx, demo("docs-llama-tiny").c_str(), cfg.c_str(), out.c_str(), fn, user, &report), GPTQ_OK)
      << gptq_last_error();
  std::vector<std::pair<std::string, std::string>> files;
  if (!fs::exists(out)) return files;
  for (const auto &e : fs::directory_iterator(out)) files.emplace_back(e.path().filename(), read_file(e.path()));
  std::sort(files.begin(), files.end());
  fs::remove_all(out);
  return files;
}

fs::path scratch(const std::string &name) {
  return fs::temp_directory_path() / ("gptq_threads_test_" + std::to_string(::getpid()) + "_" + name);
}

// Everything computed on one thread, once.
struct Reference {
  Results results;
  std::vector<std::pair<std::string, std::string>> checkpoint;
};
const Reference &one_thread() {
  static const Reference ref = [] {
    Reference r;
    gptq_context *ctx = context(1);
    r.results = compute_all(ctx);
    r.checkpoint = quantize_demo(ctx, scratch("one"));
    gptq_context_destroy(ctx);
    return r;
  }();
  return ref;
}

TEST(ContextThreads, TheHostsOpenBlasCountIsKeptByEveryCall) {
  openblas_set_num_threads(3);
  ASSERT_EQ(openblas_get_num_threads(), 3);
  gptq_context *ctx = context(2);
  EXPECT_EQ(openblas_get_num_threads(), 3) << "context creation";
  (void)compute_all(ctx);
  EXPECT_EQ(openblas_get_num_threads(), 3) << "matrix, perplexity and generation calls";
  // While a call computes, OpenBLAS is held at one thread (seen from its callback).
  struct Seen {
    int min = 100, max = 0;
  } seen;
  const auto files = quantize_demo(ctx, scratch("host"),
                                   [](void *user, const char *, uint64_t, uint64_t) {
                                     auto *s = static_cast<Seen *>(user);
                                     s->min = std::min(s->min, openblas_get_num_threads());
                                     s->max = std::max(s->max, openblas_get_num_threads());
                                     return 0;
                                   },
                                   &seen);
  EXPECT_FALSE(files.empty());
  EXPECT_EQ(seen.min, 1);
  EXPECT_EQ(seen.max, 1);
  EXPECT_EQ(openblas_get_num_threads(), 3) << "gptq_quantize_model";
  gptq_context_destroy(ctx);
  EXPECT_EQ(openblas_get_num_threads(), 3) << "context destruction";
  // A host on one thread keeps one.
  openblas_set_num_threads(1);
  ctx = context(2);
  gptq_matrix_result *m = nullptr;
  EXPECT_EQ(gptq_rtn_matrix(ctx, inputs().w.data(), kRows, kCols, nullptr, &m), GPTQ_OK);
  gptq_matrix_result_destroy(m);
  EXPECT_EQ(openblas_get_num_threads(), 1);
  gptq_context_destroy(ctx);
}

TEST(ContextThreads, AContextStartsItsOwnThreadsAndASessionKeepsThem) {
  const int before = process_threads();
  ASSERT_GT(before, 0);
  gptq_context *one = context(1);
  EXPECT_EQ(process_threads(), before);
  gptq_context *three = context(3);
  EXPECT_EQ(process_threads(), before + 2);
  const char *json = nullptr;
  ASSERT_EQ(gptq_context_runtime_json(three, &json), GPTQ_OK);
  EXPECT_NE(std::string(json).find("\"threads\": 3"), std::string::npos) << json;
  // Computing starts no thread: OpenBLAS runs on the callers.
  (void)compute_all(three);
  EXPECT_LE(process_threads(), before + 2);
  gptq_model *model = nullptr;
  ASSERT_EQ(gptq_model_open(three, demo("docs-llama-tiny").c_str(), &model), GPTQ_OK);
  gptq_session *s = nullptr;
  ASSERT_EQ(gptq_session_create(three, model, R"({"max_new_tokens": 4})", &s), GPTQ_OK);
  gptq_context_destroy(three);
  EXPECT_EQ(process_threads(), before + 2) << "the session keeps its context's threads";
  EXPECT_EQ(gptq_generate(s, "Hello", 5, nullptr, nullptr), GPTQ_OK) << gptq_last_error();
  gptq_session_destroy(s);
  EXPECT_EQ(process_threads(), before + 2) << "the model keeps its context's threads";
  gptq_model_destroy(model);
  EXPECT_EQ(process_threads_after_exit(before), before);
  gptq_context_destroy(one);
}

TEST(ContextThreads, ResultsAreTheSameOnAnyThreadCount) {
  const Reference &one = one_thread();
  ASSERT_FALSE(one.results.gptq_dequant.empty());
  ASSERT_FALSE(one.results.text.empty());
  ASSERT_FALSE(one.checkpoint.empty());
  for (int threads : {2, 3}) {
    gptq_context *ctx = context(threads);
    const Results r = compute_all(ctx);
    EXPECT_TRUE(r == one.results) << "threads " << threads;
    EXPECT_EQ(r.ppl, one.results.ppl);
    EXPECT_EQ(r.text, one.results.text);
    EXPECT_TRUE(quantize_demo(ctx, scratch("t")) == one.checkpoint) << "checkpoint on threads " << threads;
    gptq_context_destroy(ctx);
  }
}

TEST(ContextThreads, TwoContextsWithDifferentCountsAtOnceGiveWhatEachGivesAlone) {
  const Results &alone = one_thread().results;
  gptq_context *a = context(1), *b = context(3);
  std::vector<Results> got(2);
  std::vector<std::vector<std::pair<std::string, std::string>>> ckpt(2);
  std::thread ta([&] {
    got[0] = compute_all(a);
    ckpt[0] = quantize_demo(a, scratch("a"));
  });
  std::thread tb([&] {
    got[1] = compute_all(b);
    ckpt[1] = quantize_demo(b, scratch("b"));
  });
  ta.join();
  tb.join();
  EXPECT_TRUE(got[0] == alone);
  EXPECT_TRUE(got[1] == alone);
  EXPECT_TRUE(ckpt[0] == one_thread().checkpoint);
  EXPECT_TRUE(ckpt[1] == one_thread().checkpoint);
  gptq_context_destroy(a);
  gptq_context_destroy(b);
}

}  // namespace
