// The CUDA quantize engine against the CPU's (the reference it must match):
// integer codes equal for >= 99.9% of the weights and the loss within 1e-3
// relative, on the CPU solver's goldens and on larger cases (bits 2/3/4/8,
// group -1/32/128, act-order, static groups, sym/asym, MSE), the Hessian from
// activations against the CPU's, the damping retry, and the plugin's errors
// (out of memory naming the bytes, non-finite activations naming the
// element, no device memory left behind), and injected failures (the
// plugin's test hook) at every allocation of a whole-model GPTQ run and of a
// perplexity run, each freeing everything. Skips without a GPU, saying why.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/backend/activations.h"
#include "core/backend/backend.h"
#include "core/backend/backend_loader.h"
#include "core/backend/backend_plugin.h"
#include "core/backend/cpu_quantize_engine.h"
#include "core/backend/quantize_engine.h"
#include "core/backend/runtime.h"
#include "core/base/error.h"
#include "core/base/progress.h"
#include "core/config/typed.h"
#include "core/eval/perplexity.h"
#include "core/io/read_file.h"
#include "core/model/model.h"
#include "core/pipeline/quantize_model.h"
#include "tests/core/quant/golden_cases.h"
#include "tests/core/quant/quant_test_util.h"
#include "tests/support/shared_data.h"

namespace gptq {
namespace {

using quant::QuantOptions;
using quant::QuantResult;

// The agreement figures of one case (printed for the report).
struct Agreement {
  double codes = 0;     // fraction of equal codes
  double loss_rel = 0;  // |loss_gpu - loss_cpu| / loss_cpu
};

// `scale_tol`: the relative difference allowed between the scales of rows
// whose codes all agree — fp32 rounding of the grid fit (1e-5) when both
// solves had the same H; more when each made its own H from activations,
// which differ by ~1e-5 relative (bf16x3 against the CPU's fp32 sums).
Agreement compare(const QuantResult &cpu, const QuantResult &gpu, const std::string &what, float scale_tol = 1e-5f) {
  Agreement a;
  EXPECT_EQ(gpu.codes.size(), cpu.codes.size()) << what;
  if (gpu.codes.size() != cpu.codes.size()) return a;
  std::size_t same = 0;
  for (std::size_t i = 0; i < cpu.codes.size(); ++i) same += cpu.codes[i] == gpu.codes[i];
  a.codes = static_cast<double>(same) / static_cast<double>(cpu.codes.size());
  a.loss_rel = std::fabs(gpu.loss - cpu.loss) / std::max(cpu.loss, 1e-30);
  EXPECT_GE(a.codes, 0.999) << what;
  EXPECT_LE(a.loss_rel, 1e-3) << what << ": loss " << gpu.loss << " vs the CPU's " << cpu.loss;
  EXPECT_EQ(gpu.g_idx, cpu.g_idx) << what;
  EXPECT_EQ(gpu.perm, cpu.perm) << what;
  EXPECT_EQ(gpu.damp_percent, cpu.damp_percent) << what;
  EXPECT_EQ(gpu.groups, cpu.groups) << what;
  // Rows whose codes all agree have the CPU's grid (zeros equal, scales to
  // the rounding of their fit).
  for (std::int64_t r = 0; r < cpu.rows; ++r) {
    bool row_same = true;
    for (std::int64_t c = 0; c < cpu.cols && row_same; ++c)
      row_same = cpu.codes[static_cast<std::size_t>(r * cpu.cols + c)] == gpu.codes[static_cast<std::size_t>(r * cpu.cols + c)];
    if (!row_same) continue;
    for (std::int64_t g = 0; g < cpu.groups; ++g) {
      const auto i = static_cast<std::size_t>(g * cpu.rows + r);
      EXPECT_EQ(gpu.zeros[i], cpu.zeros[i]) << what << " row " << r << " group " << g;
      EXPECT_NEAR(gpu.scales[i], cpu.scales[i], scale_tol * std::fabs(cpu.scales[i])) << what << " row " << r;
    }
  }
  std::printf("agreement %-70s codes %.5f%%  loss rel %.2e  (loss %.6g, damp %.4f)\n", what.c_str(), 100 * a.codes,
              a.loss_rel, gpu.loss, gpu.damp_percent);
  return a;
}

std::string describe(const QuantOptions &o, std::int64_t rows, std::int64_t cols) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%lldx%lld b%d g%d %s%s%s%s blk%d", static_cast<long long>(rows),
                static_cast<long long>(cols), o.bits, o.group_size, o.sym ? "sym" : "asym",
                o.desc_act ? " act" : "", o.static_groups ? " static" : "", o.mse.enabled ? " mse" : "",
                o.block_size);
  return buf;
}

// Host rows as the engines take them.
class HostRows final : public Activations {
 public:
  HostRows(const std::vector<float> &x, std::int64_t cols) : m_(static_cast<std::int64_t>(x.size()) / cols, cols) {
    std::copy(x.begin(), x.end(), m_.data.begin());
  }
  std::int64_t rows() const override { return m_.rows; }
  std::int64_t cols() const override { return m_.cols; }
  const Matrix &host(Matrix &) const override { return m_; }

 private:
  Matrix m_;
};

class CudaQuantize : public ::testing::Test {
 protected:
  void SetUp() override {
    // This build's plugin unless the run names one (a carried build's).
    ::setenv("GPTQ_CUDA_PLUGIN", GPTQ_CUDA_PLUGIN_PATH, 0);
    try {
      backend_ = open_cuda_backend(0, log_);
    } catch (const Error &e) {
      GTEST_SKIP() << "no usable GPU: " << e.what();
    }
    gpu_ = backend_->quantize_engine();
    ASSERT_NE(gpu_, nullptr) << "the CUDA backend has no quantize engine";
    ASSERT_EQ(gpu_->backend(), "cuda");
  }

  QuantResult gpu_solve(const std::vector<float> &w, std::int64_t rows, std::int64_t cols, const std::vector<float> &h,
                        const QuantOptions &o) {
    const Compute &c = ::test_compute();
    auto hs = gpu_->load_hessian(c, h.data(), cols);
    return gpu_->solve(c, w.data(), rows, cols, *hs, o, "test");
  }
  QuantResult cpu_solve(const std::vector<float> &w, std::int64_t rows, std::int64_t cols, const std::vector<float> &h,
                        const QuantOptions &o) {
    const Compute &c = ::test_compute();
    auto hs = cpu_.load_hessian(c, h.data(), cols);
    return cpu_.solve(c, w.data(), rows, cols, *hs, o, "test");
  }

  Logger log_{LogLevel::Warn};
  std::unique_ptr<Backend> backend_;
  const QuantizeEngine *gpu_ = nullptr;
  CpuQuantizeEngine cpu_;
};

TEST_F(CudaQuantize, GoldenCasesMatchTheCpuSolver) {
  const auto cases = quant::testing::load_golden_cases("gptq");
  ASSERT_FALSE(cases.empty());
  double worst_codes = 1, worst_loss = 0;
  for (const auto &g : cases) {
    const std::string what = describe(g.opt, g.rows, g.cols) + (g.spec["h_shift"].get<double>() != 0 ? " shifted H" : "") +
                             " " + g.spec["h"].get<std::string>();
    const QuantResult cpu = cpu_solve(g.w, g.rows, g.cols, g.h, g.opt);
    const QuantResult gpu = gpu_solve(g.w, g.rows, g.cols, g.h, g.opt);
    const Agreement a = compare(cpu, gpu, what);
    worst_codes = std::min(worst_codes, a.codes);
    worst_loss = std::max(worst_loss, a.loss_rel);
    // The golden (the torch reference's) damping, retries included.
    EXPECT_NEAR(gpu.damp_percent, g.spec["damp_used"].get<double>(), 1e-6) << what;
  }
  std::printf("goldens: %zu cases, worst code agreement %.5f%%, worst loss rel %.2e\n", cases.size(),
              100 * worst_codes, worst_loss);
}

// Larger matrices with an H from correlated activations: every bit width,
// group -1/32/128, act-order, sym/asym; static groups and MSE on some.
TEST_F(CudaQuantize, LargerCasesMatchTheCpuSolver) {
  const std::int64_t rows = 384, cols = 1024;
  const auto x = quant::testing::correlated_activations(2048, cols, 11);
  const auto h = quant::testing::hessian_of(x, cols);
  const auto w = quant::testing::random_matrix(rows, cols, 12, 0.02f);
  double worst_codes = 1, worst_loss = 0;
  int n = 0;
  for (const int bits : {2, 3, 4, 8})
    for (const int group : {-1, 32, 128})
      for (const bool act : {false, true})
        for (const bool sym : {false, true}) {
          QuantOptions o;
          o.bits = bits;
          o.group_size = group;
          o.desc_act = act;
          o.sym = sym;
          o.damp_percent = 0.01f;
          // A few variants on top, spread over the grid.
          o.static_groups = group > 0 && act && (bits % 2 == 0);
          o.mse.enabled = (bits == 3 && group == 128) || (bits == 4 && group == -1 && sym);
          o.positive_zero = !sym && bits == 4 && group == 32;
          const Agreement a = compare(cpu_solve(w, rows, cols, h, o), gpu_solve(w, rows, cols, h, o),
                                      describe(o, rows, cols));
          worst_codes = std::min(worst_codes, a.codes);
          worst_loss = std::max(worst_loss, a.loss_rel);
          ++n;
        }
  std::printf("larger cases: %d, worst code agreement %.5f%%, worst loss rel %.2e\n", n, 100 * worst_codes,
              worst_loss);
}

// H from activations on the device (bf16x3 products with fp32 accumulation;
// fp64 when asked) against the CPU's accumulator, then the codes solved from
// each (act-order included: near-equal diagonals must keep their order).
TEST_F(CudaQuantize, HessianFromActivationsMatchesTheCpu) {
  const std::int64_t cols = 640, rows = 3000;
  auto x = quant::testing::correlated_activations(rows, cols, 21);
  for (std::size_t i = 0; i < x.size(); i += 7) x[i] += 3.0f;  // a mean: products of one sign
  const Compute &c = ::test_compute();
  for (const bool fp64 : {false, true}) {
    auto cpu_h = cpu_.new_hessian(cols, fp64);
    auto gpu_h = gpu_->new_hessian(cols, fp64);
    // Two batches with sample counts, as the pipeline accumulates.
    const std::vector<float> a(x.begin(), x.begin() + 1000 * cols), b(x.begin() + 1000 * cols, x.end());
    cpu_.accumulate(c, *cpu_h, HostRows(a, cols), 1);
    cpu_.accumulate(c, *cpu_h, HostRows(b, cols), 2);
    gpu_->accumulate(c, *gpu_h, HostRows(a, cols), 1);
    gpu_->accumulate(c, *gpu_h, HostRows(b, cols), 2);
    cpu_.finish(c, *cpu_h);
    gpu_->finish(c, *gpu_h);
    // H itself, through the loss of one fixed difference (loss() reads H
    // back from the device): tr(D H D^T) / 2.
    const auto w = quant::testing::random_matrix(64, cols, 22, 0.02f);
    const auto w2 = quant::testing::random_matrix(64, cols, 23, 0.02f);
    const double lc = cpu_.loss(c, w.data(), w2.data(), *cpu_h, 64, cols);
    const double lg = gpu_->loss(c, w.data(), w2.data(), *gpu_h, 64, cols);
    EXPECT_NEAR(lg, lc, (fp64 ? 1e-7 : 1e-5) * lc) << (fp64 ? "fp64" : "fp32");
    std::printf("H from activations %s: layer loss of a fixed difference %.9g vs the CPU's %.9g (rel %.2e)\n",
                fp64 ? "fp64" : "fp32 (bf16x3)", lg, lc, std::fabs(lg - lc) / lc);
    // The codes: the CPU's solve from its H, the GPU's from its own.
    QuantOptions o;
    o.bits = 4;
    o.group_size = 128;
    o.desc_act = true;
    const auto wq = quant::testing::random_matrix(256, cols, 24, 0.02f);
    const QuantResult ref = cpu_.solve(c, wq.data(), 256, cols, *cpu_h, o, "t");
    const QuantResult got = gpu_->solve(c, wq.data(), 256, cols, *gpu_h, o, "t");
    compare(ref, got, std::string("H from activations ") + (fp64 ? "fp64" : "fp32 (bf16x3)"), fp64 ? 1e-5f : 1e-4f);
  }
}

// An indefinite H: the retry raises damping as the CPU does; one that no
// damping up to the limit fixes is a Numerical error naming the size.
TEST_F(CudaQuantize, DampingRetryAndItsLimit) {
  const std::int64_t rows = 64, cols = 256;
  auto h = quant::testing::hessian_of(quant::testing::correlated_activations(512, cols, 31), cols);
  double mean = 0;
  for (std::int64_t i = 0; i < cols; ++i) mean += h[static_cast<std::size_t>(i * cols + i)];
  mean /= cols;
  // H - s I with s = 3.25% of mean(diag H): indefinite (H is only
  // semidefinite-ish from 512 samples); damping must pass s, between steps.
  for (std::int64_t i = 0; i < cols; ++i) h[static_cast<std::size_t>(i * cols + i)] -= static_cast<float>(0.0325 * mean);
  const auto w = quant::testing::random_matrix(rows, cols, 32, 0.02f);
  QuantOptions o;
  o.damp_percent = 0.01f;
  o.damp_auto_increment = 0.005f;
  const QuantResult cpu = cpu_solve(w, rows, cols, h, o);
  ASSERT_GT(cpu.damp_percent, 0.01) << "the case must need a retry";
  compare(cpu, gpu_solve(w, rows, cols, h, o), "indefinite H, retried");

  for (std::int64_t i = 0; i < cols; ++i) h[static_cast<std::size_t>(i * cols + i)] = -1.0f;
  try {
    gpu_solve(w, rows, cols, h, o);
    ADD_FAILURE() << "a negative definite H was solved";
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::Numerical) << e.what();
    EXPECT_NE(std::string(e.what()).find("256x256) is not positive definite"), std::string::npos) << e.what();
  }
}

// The plugin table itself: out of memory names the bytes, non-finite
// activations name the element, and failures leave no device memory behind.
class CudaQuantizePlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    // $GPTQ_CUDA_PLUGIN first, as the library's loader: the plugin every
    // other test of the run loads (a carried build lives elsewhere).
    const char *env = std::getenv("GPTQ_CUDA_PLUGIN");
    lib_ = dlopen(env && *env ? env : GPTQ_CUDA_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(lib_, nullptr) << dlerror();
    auto entry = reinterpret_cast<gptq_backend_plugin_entry_fn>(dlsym(lib_, GPTQ_BACKEND_PLUGIN_ENTRY));
    ASSERT_NE(entry, nullptr);
    t_ = entry();
    int count = 0;
    if (t_->device_count(&count, err_, sizeof err_) != GPTQ_PLUGIN_OK) GTEST_SKIP() << "no usable GPU: " << err_;
    ASSERT_EQ(t_->open(0, nullptr, &state_, err_, sizeof err_), GPTQ_PLUGIN_OK) << err_;
  }
  void TearDown() override {
    if (state_) t_->close(state_);
  }
  std::uint64_t free_bytes() {
    std::uint64_t f = 0, total = 0;
    EXPECT_EQ(t_->memory_info(state_, &f, &total, err_, sizeof err_), GPTQ_PLUGIN_OK) << err_;
    return f;
  }

  void *lib_ = nullptr;
  const gptq_backend_plugin *t_ = nullptr;
  void *state_ = nullptr;
  char err_[512] = {0};
};

TEST_F(CudaQuantizePlugin, ErrorsNameTheirCauseAndLeakNothing) {
  const std::int64_t cols = 128, rows = 32;
  // Every failure below, run twice: the first pass also loads the kernels
  // and library workspaces that stay, the second must leave the device's
  // free memory exactly where it found it.
  auto failures = [&] {
    // 2^20 columns: a 4 TiB Hessian.
    gptq_plugin_hessian *h = nullptr;
    EXPECT_EQ(t_->hessian_create(state_, std::int64_t{1} << 20, 0, &h, err_, sizeof err_),
              GPTQ_PLUGIN_ERR_OUT_OF_MEMORY);
    EXPECT_NE(std::string(err_).find("4398046511104 bytes"), std::string::npos) << err_;
    gptq_plugin_buffer *buf = nullptr;
    EXPECT_EQ(t_->buffer_alloc(state_, std::size_t{1} << 45, &buf, err_, sizeof err_), GPTQ_PLUGIN_ERR_OUT_OF_MEMORY);
    EXPECT_NE(std::string(err_).find("35184372088832 bytes"), std::string::npos) << err_;

    // A NaN at [3][5]: refused, named, and the Hessian unusable afterwards.
    std::vector<float> x(static_cast<std::size_t>(rows * cols), 0.5f);
    x[3 * cols + 5] = std::nanf("");
    ASSERT_EQ(t_->hessian_create(state_, cols, 0, &h, err_, sizeof err_), GPTQ_PLUGIN_OK) << err_;
    ASSERT_EQ(t_->buffer_alloc(state_, x.size() * sizeof(float), &buf, err_, sizeof err_), GPTQ_PLUGIN_OK) << err_;
    EXPECT_EQ(t_->buffer_write(state_, buf, 0, x.data(), x.size() * sizeof(float), err_, sizeof err_),
              GPTQ_PLUGIN_OK);
    EXPECT_EQ(t_->hessian_accumulate(state_, h, buf, rows, -1, err_, sizeof err_), GPTQ_PLUGIN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(err_).find("activation [3][5] is not finite"), std::string::npos) << err_;
    EXPECT_EQ(t_->hessian_finish(state_, h, err_, sizeof err_), GPTQ_PLUGIN_ERR_INVALID_ARGUMENT);
    // Past the buffer's end.
    EXPECT_EQ(t_->hessian_accumulate(state_, h, buf, rows + 1, -1, err_, sizeof err_),
              GPTQ_PLUGIN_ERR_INVALID_ARGUMENT);
    t_->buffer_free(state_, buf);
    t_->hessian_free(state_, h);

    // A solve that fails (no damping helps) frees what it allocated.
    std::vector<float> hm(static_cast<std::size_t>(cols * cols), 0.0f);
    for (std::int64_t i = 0; i < cols; ++i) hm[static_cast<std::size_t>(i * cols + i)] = -1.0f;
    ASSERT_EQ(t_->hessian_create(state_, cols, 0, &h, err_, sizeof err_), GPTQ_PLUGIN_OK) << err_;
    ASSERT_EQ(t_->hessian_write(state_, h, hm.data(), err_, sizeof err_), GPTQ_PLUGIN_OK) << err_;
    std::vector<float> w(static_cast<std::size_t>(rows * cols), 0.01f), deq(w.size()), scales(rows);
    std::vector<std::uint8_t> codes(w.size());
    std::vector<std::int32_t> zeros(rows), g_idx(cols), perm(cols);
    gptq_plugin_quant_options o{};
    o.bits = 4;
    o.group_size = -1;
    o.sym = 1;
    o.damp_percent = 0.01f;
    o.damp_auto_increment = 0.25f;
    o.block_size = 128;
    gptq_plugin_quant_result r{codes.data(), scales.data(), zeros.data(), g_idx.data(), perm.data(), deq.data(), 0, 0, nullptr, 0};
    EXPECT_EQ(t_->quantize_solve(state_, h, w.data(), rows, cols, &o, &r, err_, sizeof err_),
              GPTQ_PLUGIN_ERR_NUMERICAL);
    EXPECT_NE(std::string(err_).find("not positive definite at damp_percent"), std::string::npos) << err_;
    o.bits = 5;
    EXPECT_EQ(t_->quantize_solve(state_, h, w.data(), rows, cols, &o, &r, err_, sizeof err_),
              GPTQ_PLUGIN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(err_).find("bits must be 2, 3, 4 or 8, got 5"), std::string::npos) << err_;
    t_->hessian_free(state_, h);
  };
  failures();
  const std::uint64_t before = free_bytes();
  failures();
  EXPECT_EQ(free_bytes(), before) << "device memory left behind by the failures";
}

// The block group's refusals through the table: a run whose scratch the
// device cannot hold is out of memory naming the bytes, a linear never set
// for the run is named, and neither leaves device memory behind; a run with
// every tensor set works, and the next run must set them again.
TEST_F(CudaQuantizePlugin, BlockRunsRefuseClearlyAndLeakNothing) {
  gptq_plugin_model_spec spec{};
  spec.size = sizeof spec;
  spec.model_type = "llama";
  spec.hidden_size = 64;
  spec.num_layers = 1;
  spec.num_heads = 2;
  spec.num_kv_heads = 2;
  spec.head_dim = 32;
  spec.intermediate_size = 96;
  spec.vocab_size = 16;
  spec.embed_width = 64;
  spec.max_positions = 16;
  spec.positions = GPTQ_PLUGIN_POSITIONS_LEARNED;
  spec.norm = GPTQ_PLUGIN_NORM_RMS;
  spec.norm_eps = 1e-6;
  spec.norm_before = 1;
  spec.gated_mlp = 1;
  spec.activation = GPTQ_PLUGIN_ACT_SILU;
  const std::int64_t rows = 4;
  std::vector<float> x(static_cast<std::size_t>(rows * 64), 0.25f), ones(256, 1.0f);
  std::vector<float> w(96 * 64, 0.01f);
  auto attempt = [&](const gptq_plugin_model_spec &sp, bool set_linears, gptq_plugin_observer_fn observe) {
    gptq_plugin_block *block = nullptr;
    gptq_plugin_buffer *hidden = nullptr;
    EXPECT_EQ(t_->block_create(state_, &sp, &block, err_, sizeof err_), GPTQ_PLUGIN_OK) << err_;
    EXPECT_EQ(t_->buffer_alloc(state_, x.size() * sizeof(float), &hidden, err_, sizeof err_), GPTQ_PLUGIN_OK);
    EXPECT_EQ(t_->buffer_write(state_, hidden, 0, x.data(), x.size() * sizeof(float), err_, sizeof err_),
              GPTQ_PLUGIN_OK);
    const gptq_plugin_dense norm{1, 64, ones.data(), nullptr};
    EXPECT_EQ(t_->block_set_dense(state_, block, GPTQ_PLUGIN_ROLE_ATTN_NORM, &norm, err_, sizeof err_), GPTQ_PLUGIN_OK);
    EXPECT_EQ(t_->block_set_dense(state_, block, GPTQ_PLUGIN_ROLE_MLP_NORM, &norm, err_, sizeof err_), GPTQ_PLUGIN_OK);
    if (set_linears)
      for (std::int32_t role = GPTQ_PLUGIN_ROLE_Q; role <= GPTQ_PLUGIN_ROLE_DOWN; ++role) {
        const bool mlp_in = role == GPTQ_PLUGIN_ROLE_GATE || role == GPTQ_PLUGIN_ROLE_UP;
        const gptq_plugin_dense d{mlp_in ? 96 : 64, role == GPTQ_PLUGIN_ROLE_DOWN ? 96 : 64, w.data(), nullptr};
        EXPECT_EQ(t_->block_set_dense(state_, block, role, &d, err_, sizeof err_), GPTQ_PLUGIN_OK) << err_;
      }
    const int rc = t_->block_run(state_, block, hidden, 1, rows, nullptr, observe, nullptr, err_, sizeof err_);
    std::vector<float> out(x.size());
    EXPECT_EQ(t_->buffer_read(state_, hidden, 0, out.data(), out.size() * sizeof(float), err_, sizeof err_),
              GPTQ_PLUGIN_OK);
    if (rc == GPTQ_PLUGIN_OK) {
      for (const float v : out) EXPECT_TRUE(std::isfinite(v) && v != 0.25f) << v;
      // The run forgot its tensors: the next one must set them.
      EXPECT_EQ(t_->block_run(state_, block, hidden, 1, rows, nullptr, nullptr, nullptr, err_, sizeof err_),
                GPTQ_PLUGIN_ERR_INVALID_ARGUMENT);
    }
    t_->buffer_free(state_, hidden);
    t_->block_free(state_, block);
    return rc;
  };
  auto failures = [&] {
    // 2^36 intermediate columns: ~2.2 TB of scratch for 4 rows.
    gptq_plugin_model_spec huge = spec;
    huge.intermediate_size = std::int64_t{1} << 36;
    EXPECT_EQ(attempt(huge, false, nullptr), GPTQ_PLUGIN_ERR_OUT_OF_MEMORY);
    EXPECT_NE(std::string(err_).find("calibration block: "), std::string::npos) << err_;
    EXPECT_NE(std::string(err_).find(" bytes asked"), std::string::npos) << err_;
    std::printf("out of memory as expected: %s\n", err_);
    EXPECT_EQ(attempt(spec, false, nullptr), GPTQ_PLUGIN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(err_).find("q projection's weight was not set for this run"), std::string::npos) << err_;
    // An observer that sets nothing: the same.
    EXPECT_EQ(attempt(spec, false, [](void *, int32_t, const gptq_plugin_buffer *, int64_t, int64_t) { return 0; }),
              GPTQ_PLUGIN_ERR_INVALID_ARGUMENT);
    // An observer that stops the run: its status.
    EXPECT_EQ(attempt(spec, true,
                      [](void *, int32_t role, const gptq_plugin_buffer *, int64_t, int64_t) {
                        return role == GPTQ_PLUGIN_ROLE_UP ? static_cast<int>(GPTQ_PLUGIN_ERR_NUMERICAL) : 0;
                      }),
              GPTQ_PLUGIN_ERR_NUMERICAL);
    EXPECT_NE(std::string(err_).find("MLP up"), std::string::npos) << err_;
  };
  EXPECT_EQ(attempt(spec, true, nullptr), GPTQ_PLUGIN_OK) << err_;
  failures();
  const std::uint64_t before = free_bytes();
  failures();
  EXPECT_EQ(free_bytes(), before) << "device memory left behind by the failed block runs";
}

// Failure injection (backend_plugin.h's inject_failure) at the allocations
// of whole runs: the pipeline gptq_quantize_model runs (capi/quantize.cpp:
// the context's Runtime, its engines and pool, options.device its backend;
// the C API adds only the status mapping, equal by static_assert) and a
// perplexity run. Each injected failure must come back with its status and
// a message naming what was being allocated (or the call), leave no
// checkpoint, bring the plugin's live bytes back to their value before the
// run and not lower the device's free memory beyond kFreeSlack, and the
// context must then run cleanly. Figures are printed for the report.
class CudaFailureInjection : public ::testing::Test {
 protected:
  // What the driver may move on its own between two readings (its pools,
  // lazily loaded kernels): the check is for leaks of the size of our
  // buffers (the smallest whole-run leak, one block's hidden state here,
  // is 4 x 64 x hidden fp32 = 262144 bytes; the plugin's counter catches
  // any leak of ours to the byte).
  static constexpr std::uint64_t kFreeSlack = 8u << 20;

  void SetUp() override {
    ::setenv("GPTQ_CUDA_PLUGIN", GPTQ_CUDA_PLUGIN_PATH, 0);
    try {
      runtime_ = std::make_unique<Runtime>(config::parse_runtime_config(R"({"backend": "cuda", "threads": 2, "log_level": "error"})"));
    } catch (const Error &e) {
      GTEST_SKIP() << "no usable GPU: " << e.what();
    }
  }
  Backend &backend() { return runtime_->backend(); }
  DeviceMemoryUse use() { return *backend().memory_use(false); }
  std::uint64_t free_bytes() { return backend().memory()->free; }

  // The injection points of a run of `total` allocations: every one up to
  // 40, else the first 8 and 32 spread from there to the last.
  static std::vector<std::int64_t> points(std::int64_t total) {
    std::set<std::int64_t> p;
    if (total <= 40) {
      for (std::int64_t n = 1; n <= total; ++n) p.insert(n);
    } else {
      for (std::int64_t n = 1; n <= 8; ++n) p.insert(n);
      for (std::int64_t i = 0; i <= 31; ++i) p.insert(8 + (total - 8) * i / 31);
    }
    return {p.begin(), p.end()};
  }

  // Runs `run` failing at each point of `kind`, with the checks above;
  // `left` says whether the run left its output behind. Allocations must
  // fail at every point (the points come from the counter); checks are not
  // counted, so the first check point a run gets through ends the list.
  // Prints what was failed, by what it was for (or the call).
  template <class Run, class Left>
  void inject_each(InjectedFailure kind, const std::vector<std::int64_t> &at, Run &&run, Left &&left,
                   const std::string &what_run) {
    const std::uint64_t live = use().live, free_before = free_bytes();
    std::int64_t worst_drop = 0;
    std::size_t injected = 0;
    std::map<std::string, int> seen;
    for (const std::int64_t n : at) {
      backend().inject_failure(kind, n);
      bool failed = false;
      try {
        run();
      } catch (const Error &e) {
        failed = true;
        const std::string msg = e.what();
        if (kind == InjectedFailure::Allocation) {
          EXPECT_EQ(e.status(), Status::OutOfMemory) << what_run << ", allocation " << n << ": " << msg;
          const auto from = msg.find("out of device memory for "), asked = msg.find(" bytes asked, ");
          EXPECT_NE(from, std::string::npos) << msg;
          EXPECT_NE(asked, std::string::npos) << msg;
          if (from != std::string::npos && asked != std::string::npos) {
            const auto end = msg.rfind(": ", asked);
            seen[msg.substr(from + 25, end - from - 25)]++;
          }
        } else {
          EXPECT_EQ(e.status(), Status::Device) << what_run << ", check " << n << ": " << msg;
          EXPECT_NE(msg.find("failure injected by the test hook"), std::string::npos) << msg;
          const auto at_hook = msg.find(" failed at ");
          if (at_hook != std::string::npos) {
            const auto colon = msg.rfind(": ", at_hook);
            const auto start = colon == std::string::npos ? 0 : colon + 2;
            seen[msg.substr(start, at_hook - start)]++;
          }
        }
      }
      backend().inject_failure(kind, 0);
      if (!failed) {
        EXPECT_EQ(kind, InjectedFailure::Check) << what_run << ": allocation " << n << " did not fail";
        left();  // clears what the completed run wrote
        break;
      }
      ++injected;
      EXPECT_FALSE(left()) << what_run << ", failure " << n << ": output left behind";
      EXPECT_EQ(use().live, live) << what_run << ", failure " << n << ": device bytes left live";
      const std::int64_t drop = static_cast<std::int64_t>(free_before) - static_cast<std::int64_t>(free_bytes());
      worst_drop = std::max(worst_drop, drop);
      EXPECT_LE(drop, static_cast<std::int64_t>(kFreeSlack)) << what_run << ", failure " << n;
    }
    std::printf("%s: %zu %s failures injected (points %lld..%lld); worst drop of free device memory %lld bytes "
                "(slack %llu)\n",
                what_run.c_str(), injected, kind == InjectedFailure::Allocation ? "allocation" : "check",
                static_cast<long long>(at.front()), static_cast<long long>(at.back()),
                static_cast<long long>(worst_drop), static_cast<unsigned long long>(kFreeSlack));
    for (const auto &[what, count] : seen) std::printf("  %3d x %s\n", count, what.c_str());
    EXPECT_GT(injected, 0u) << what_run;
  }

  std::unique_ptr<Runtime> runtime_;
};

TEST_F(CudaFailureInjection, EveryFailedAllocationOfAQuantizeRunFreesEverything) {
  GPTQ_REQUIRE_SHARED(source, "models/docs-llama-16m");
  GPTQ_REQUIRE_SHARED(calib, "data/docs_calib.txt");
  const auto model = model::Model::open(source);
  // Token ids rather than the file, so the runs do not tokenize it each time.
  const std::string text = io::read_text_file(calib, 64 << 20).substr(0, 32 << 10);
  const std::vector<std::int32_t> ids = model->tokenizer()->encode(text);
  const nlohmann::json cfg = {{"bits", 4},
                              {"group_size", 128},
                              {"calibration", {{"token_ids", ids}, {"nsamples", 4}, {"seqlen", 64}}}};
  const schema::QuantizeConfigT config = config::parse_quantize_config(cfg.dump());
  const auto out = std::filesystem::temp_directory_path() / ("gptq_cuda_inject_" + std::to_string(::getpid()));
  std::filesystem::remove_all(out);
  quant::QuantizeModelOptions options;
  options.device = &backend();
  Runtime &rt = *runtime_;
  ASSERT_EQ(rt.quantize_engine()->backend(), "cuda");
  auto run = [&] {
    return quant::quantize_model(*model, config, out, options, *rt.pool(), *rt.quantize_engine(), *rt.forward_engine(),
                                 Progress(), rt.logger());
  };
  // The first run makes what the state keeps (the handles' workspaces);
  // the second is the clean run the failures are counted against.
  (void)run();
  std::filesystem::remove_all(out);
  const DeviceMemoryUse before = use();
  const auto t0 = std::chrono::steady_clock::now();
  const schema::QuantizeReportT clean = run();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::filesystem::remove_all(out);
  const DeviceMemoryUse after = use();
  const auto total = static_cast<std::int64_t>(after.allocations - before.allocations);
  std::printf("clean GPTQ run of docs-llama-16m (4 x 64 tokens): %.2f s, %lld device allocations, "
              "peak_device_bytes %llu, live between runs %llu\n",
              seconds, static_cast<long long>(total), static_cast<unsigned long long>(clean.peak_device_bytes),
              static_cast<unsigned long long>(after.live));
  EXPECT_EQ(after.live, before.live) << "a clean run left device memory live";
  EXPECT_GT(clean.peak_device_bytes, after.live) << "the run's peak is above what stays between runs";
  ASSERT_GT(total, 0);

  // `left` also removes what a run that completed wrote.
  auto left = [&] {
    const bool there = std::filesystem::exists(out);
    std::filesystem::remove_all(out);
    return there;
  };
  inject_each(InjectedFailure::Allocation, points(total), run, left, "GPTQ run");
  // Checks: 1, 2, 4, 8, ... and 3 x 2^k until a run gets past the point.
  std::vector<std::int64_t> checks;
  for (std::int64_t n = 1; n < (std::int64_t{1} << 24); n *= 2) {
    checks.push_back(n);
    if (n >= 2) checks.push_back(n + n / 2);
  }
  inject_each(InjectedFailure::Check, checks, run, left, "GPTQ run");

  // The same context, afterwards: a clean run, nothing more left live.
  const schema::QuantizeReportT again = run();
  EXPECT_EQ(again.layers.size(), clean.layers.size());
  std::filesystem::remove_all(out);
  EXPECT_EQ(use().live, before.live);
}

TEST_F(CudaFailureInjection, EveryFailedAllocationOfAPerplexityRunFreesEverything) {
  GPTQ_REQUIRE_SHARED(source, "models/docs-llama-16m");
  GPTQ_REQUIRE_SHARED(heldout, "data/docs_heldout.txt");
  const auto model = model::Model::open(source);
  std::vector<std::int32_t> ids = model->tokenizer()->encode(io::read_text_file(heldout, 64 << 20));
  ids.resize(std::min<std::size_t>(ids.size(), 4 * 128));
  Runtime &rt = *runtime_;
  const auto forward = rt.forward_engine();
  ASSERT_EQ(forward->backend(), "cuda");
  // Prepare (weights uploaded, on the runtime's two threads) and run, as
  // gptq_model_open + gptq_perplexity.
  const Compute compute(*rt.pool());
  double ppl = 0;
  auto run = [&] {
    const auto prepared = forward->prepare(compute, model->spec(), model->weights());
    ppl = eval::perplexity(*rt.pool(), *forward, *prepared, ids, eval::PerplexityOptions{128, 4}).ppl;
  };
  run();
  const DeviceMemoryUse before = use();
  run();
  const double clean = ppl;
  const auto total = static_cast<std::int64_t>(use().allocations - before.allocations);
  std::printf("clean perplexity run (prepare + 4 x 128 tokens): ppl %.6f, %lld device allocations\n", clean,
              static_cast<long long>(total));
  EXPECT_EQ(use().live, before.live);
  ASSERT_GT(total, 0);
  inject_each(InjectedFailure::Allocation, points(total), run, [] { return false; }, "perplexity run");
  std::vector<std::int64_t> checks;
  for (std::int64_t n = 1; n < (std::int64_t{1} << 24); n *= 4) checks.push_back(n);
  inject_each(InjectedFailure::Check, checks, run, [] { return false; }, "perplexity run");
  ppl = 0;
  run();
  EXPECT_NEAR(ppl, clean, 1e-6 * clean) << "a clean run after the failures";
  EXPECT_EQ(use().live, before.live);
}

}  // namespace
}  // namespace gptq
