// Benchmark of the CPU GPTQ path against the torch CPU reference
// (tests/reference/gptq_ref.py, timed by tests/reference/bench_gptq_ref.py
// with the same thread count; its JSON is passed with --baseline).
//
// K = 4096 inputs; activations are seeded Gaussian batches of 2048 tokens.
// Rows:
//   - Hessian, per 2048-token batch (the add_batch step), and the same as
//     GFLOP/s (n k^2 per batch, the syrk count) against OpenBLAS sgemm
//     measured in this run (4096x4096x2048);
//   - solve alone (bits 4, group 128, act-order, sym) for W 4096x4096 and
//     11008x4096 with the H of 8 batches;
//   - quantize total for 128x2048 tokens = 128 x (median batch) + solve: the
//     full 262144-token Hessian takes minutes per repetition on 2 cores, so it
//     is measured per batch (every batch is the same operation) and scaled.
// Usage: quantize_matrix_bench [--threads 2] [--reps 10] [--reps-big 3]
//        [--baseline torch.json] [--json out.json] [--command "..."]
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_record.h"
#include "core/cpu/compute.h"
#include "core/quant/hessian.h"
#include "core/quant/quantize_matrix.h"

extern "C" void openblas_set_num_threads(int);

namespace {

using Clock = std::chrono::steady_clock;

double median_seconds(const std::function<void()> &fn, int reps) {
  fn();  // warm-up
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
}

std::vector<float> gaussian(std::size_t n, unsigned seed, float sd) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (auto &x : v) x = d(rng);
  return v;
}

}  // namespace

int main(int argc, char **argv) {
  int threads = 2, reps = 10, reps_big = 3;
  std::string baseline_path, json_path, command = "build/default/bench/quantize_matrix_bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--reps-big") reps_big = std::atoi(argv[i + 1]);
    else if (a == "--baseline") baseline_path = argv[i + 1];
    else if (a == "--json") json_path = argv[i + 1];
    else if (a == "--command") command = argv[i + 1];
  }
  openblas_set_num_threads(threads);
  nlohmann::json base = nlohmann::json::object();
  if (!baseline_path.empty()) base = nlohmann::json::parse(std::ifstream(baseline_path))["cases"];
  auto base_s = [&](const char *c) -> nlohmann::json {
    return base.contains(c) ? nlohmann::json(base[c]["median_s"]) : nlohmann::json(nullptr);
  };

  const std::int64_t k = 4096, tokens = 2048, batches_full = 128;
  std::vector<std::vector<float>> pool;
  for (unsigned s = 0; s < 4; ++s) pool.push_back(gaussian(static_cast<std::size_t>(tokens * k), s + 1, 1.0f));

  // OpenBLAS sgemm in this run on its own `threads` threads, the shape of
  // one batch's product (before the Compute below holds OpenBLAS at one).
  std::vector<float> c(static_cast<std::size_t>(k * k));
  const double t_sgemm = median_seconds([&] {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 4096, 4096, 2048, 1.0f, pool[0].data(), 4096,
                pool[1].data(), 4096, 0.0f, c.data(), 4096);
  }, 3);
  const double sgemm_gflops = 2.0 * 4096 * 4096 * 2048 / t_sgemm / 1e9;

  // Ours: a context's pool of `threads`, as gptq_quantize_matrix runs.
  gptq::ThreadPool threads_pool(threads);
  const gptq::Compute compute(threads_pool);
  gptq::quant::HessianAccumulator acc(k, false);
  std::size_t next = 0;
  const double t_batch = median_seconds([&] { acc.add_batch(compute, pool[next++ % 4].data(), tokens); }, reps);
  const double hess_gflops = static_cast<double>(tokens) * k * k / t_batch / 1e9;
  while (acc.samples() < 8 * tokens) acc.add_batch(compute, pool[next++ % 4].data(), tokens);
  const std::vector<float> h = acc.hessian(compute);
  pool.clear();

  gptq::quant::QuantOptions opt;
  opt.bits = 4;
  opt.group_size = 128;
  opt.desc_act = true;
  opt.sym = true;
  opt.damp_percent = 0.01f;  // as the torch reference (tests/reference/gptq_ref.py)
  double t_solve[2] = {0, 0};
  const std::int64_t ns[2] = {4096, 11008};
  for (int i = 0; i < 2; ++i) {
    const auto w = gaussian(static_cast<std::size_t>(ns[i] * k), 99, 0.02f);
    t_solve[i] = median_seconds(
        [&] { (void)gptq::quant::quantize_matrix(compute, w.data(), ns[i], k, h.data(), opt, "bench"); },
        i == 0 ? reps : reps_big);
  }

  nlohmann::json rows = nlohmann::json::array();
  auto row = [&](const std::string &name, const char *unit, double ours, nlohmann::json baseline, bool lower_better,
                 const std::string &bname = "torch_reference") {
    nlohmann::json r = {{"case", name}, {"unit", unit}, {"ours", ours}, {"baseline", baseline},
                        {"baseline_name", bname}};
    r["speedup"] = baseline.is_number() ? nlohmann::json(lower_better ? baseline.get<double>() / ours
                                                                      : ours / baseline.get<double>())
                                        : nlohmann::json(nullptr);
    if (baseline.is_null()) r["note"] = "no torch timing given (--baseline)";
    rows.push_back(r);
  };
  const std::string th = " threads=" + std::to_string(threads);
  row("hessian K=4096 per batch of 2048 tokens, fp32, median of " + std::to_string(reps) + th, "s", t_batch,
      base_s("hessian_batch"), true);
  {
    nlohmann::json b = base_s("hessian_batch");
    nlohmann::json bg = b.is_number() ? nlohmann::json(static_cast<double>(tokens) * k * k / b.get<double>() / 1e9)
                                      : nlohmann::json(nullptr);
    row("hessian K=4096 GFLOP/s (n*k^2 per batch) vs OpenBLAS sgemm 4096x4096x2048 in this run" + th, "GFLOP/s",
        hess_gflops, bg, false);
    rows.back()["limit"] = sgemm_gflops;
    rows.back()["of_limit"] = hess_gflops / sgemm_gflops;
  }
  const char *names[2] = {"solve_4096x4096", "solve_11008x4096"};
  for (int i = 0; i < 2; ++i)
    row("solve W " + std::to_string(ns[i]) + "x4096 bits=4 g128 desc_act sym, median of " +
            std::to_string(i == 0 ? reps : reps_big) + th,
        "s", t_solve[i], base_s(names[i]), true);
  for (int i = 0; i < 2; ++i) {
    nlohmann::json b = base_s(names[i]), hb = base_s("hessian_batch");
    nlohmann::json tot = b.is_number() && hb.is_number()
                             ? nlohmann::json(b.get<double>() + batches_full * hb.get<double>())
                             : nlohmann::json(nullptr);
    row("quantize W " + std::to_string(ns[i]) + "x4096 total: H from 128x2048 tokens (128 x median batch) + solve" + th,
        "s", t_solve[i] + batches_full * t_batch, tot, true);
  }

  std::printf("%-110s %10s %10s %8s\n", "case", "ours", "torch", "speedup");
  for (const auto &r : rows)
    std::printf("%-110s %10.3f %10s %8s\n", r["case"].get<std::string>().c_str(), r["ours"].get<double>(),
                r["baseline"].is_number() ? std::to_string(r["baseline"].get<double>()).c_str() : "-",
                r["speedup"].is_number() ? std::to_string(r["speedup"].get<double>()).c_str() : "-");
  // Which kernels OpenBLAS picked matters as much as the code: a CPU it does not
  // recognise (e.g. a VM that hides CPUID) gets a generic kernel.
  const std::string blas = std::string(openblas_get_config()) + " core " + openblas_get_corename();
  std::printf("OpenBLAS sgemm: %.1f GFLOP/s (%s)\n", sgemm_gflops, blas.c_str());

  if (!json_path.empty()) {
    nlohmann::json out = {{"bench", "quantize_matrix"},
                          {"device", gptq::bench::cpu_name()},
                          {"commit", gptq::bench::commit()},
                          {"date", gptq::bench::utc_now()},
                          {"command", command},
                          {"blas", blas},
                          {"rows", rows}};
    std::ofstream(json_path) << out.dump(2) << "\n";
  }
  return 0;
}
