// Benchmark of the CUDA quantizer per matrix against a PyTorch reference of
// the algorithm on the same GPU in the same run (bench/cuda_gptq_torch_ref.py,
// whose JSON comes in with --baseline; bench/run_cuda_quantize_matrix_bench.sh
// runs both).
//
// Shapes (N x K): 4096x4096, 11008x4096, 4096x11008, 14336x4096; 4-bit,
// group 128, sym, act-order on and off. H from 128 batches of 2048 tokens
// (a pool of 4 batches on the device, reused in turn, as the reference does).
// Inputs are the same values on both sides: element i of a tensor with seed s
// is (((i mod p)^2 mod p * 7919 + i * 104729 + s * 15485863) mod p) / p - 0.5
// with p = 1000003 (activations; weights times 0.04), computed here and by
// the reference from the formula (a quadratic residue sequence: no low-rank
// pattern, as an affine one would have).
// Rows (median of --reps timed repetitions after one warm-up, the device
// synchronized at the end of each phase):
//   hessian K: create + 128 accumulates + finish (fp32: bf16x3 on the tensor cores);
//   hessian K, fp16 activations: the same activations rounded to fp16 (one
//     fp16 product; the reference widens them to fp32, as AutoGPTQ does);
//   cholesky NxK: damping, potrf, trtri, the reversals;
//   solve NxK: everything else of the solve (upload, grids, act-order, the
//     blocks with their lazy updates, results back to the host).
// Usage: cuda_quantize_matrix_bench [--reps 10] [--baseline torch.json]
//        [--json out.json] [--command "..."]
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/tensor/half.h"
#include "cuda/cuda_check.h"
#include "cuda/device_state.h"
#include "cuda/device_memory.h"
#include "cuda/quantize/device_hessian.h"
#include "cuda/quantize/gptq_solve.h"
#include "cuda/quantize/quantize_device.h"

namespace {

using namespace gptq::cuda;
using Clock = std::chrono::steady_clock;

constexpr int kTokens = 2048, kBatches = 128, kPool = 4;

std::vector<float> pattern(std::size_t count, long seed, float scale) {
  std::vector<float> v(count);
  for (std::size_t i = 0; i < count; ++i) {
    constexpr long long p = 1000003;
    const auto ii = static_cast<long long>(i);
    const long long q = (ii % p) * (ii % p) % p;
    const long long m = (q * 7919 + ii * 104729 + seed * 15485863) % p;
    v[i] = static_cast<float>((static_cast<double>(m) / static_cast<double>(p) - 0.5) * scale);
  }
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int main(int argc, char **argv) {
  int reps = 10;
  std::string baseline_path, json_path, command = "cuda_quantize_matrix_bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--baseline") baseline_path = argv[i + 1];
    else if (a == "--json") json_path = argv[i + 1];
    else if (a == "--command") command = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 1;
    }
  }
  try {
    nlohmann::json base;
    if (!baseline_path.empty()) {
      std::ifstream in(baseline_path);
      if (!in) throw std::runtime_error("cannot read " + baseline_path);
      base = nlohmann::json::parse(in);
    }
    DeviceState state(0);
    QuantizeDevice dev(state, nullptr);
    const std::string device = state.properties().name;
    std::printf("device: %s\n", device.c_str());
    std::map<std::string, double> ours;
    struct Shape {
      int n, k;
    };
    const Shape shapes[] = {{4096, 4096}, {11008, 4096}, {4096, 11008}, {14336, 4096}};
    for (const int k : {4096, 11008}) {
      // The pool of activation batches, then the timed Hessians: the
      // activations rounded to fp16 and declared so (what the calibration
      // forward's linears take: one fp16 product instead of bf16x3), then
      // fp32 ones, whose H the solves below use.
      const std::size_t batch = static_cast<std::size_t>(kTokens) * k;
      DeviceArray<float> pool(batch * kPool, "the activation pool");
      std::vector<float> h(static_cast<std::size_t>(k) * k);
      for (const bool fp16 : {true, false}) {
        for (int b = 0; b < kPool; ++b) {
          auto x = pattern(batch, 1 + b, 1.0f);
          if (fp16)
            for (float &v : x) v = gptq::half_to_float(gptq::float_to_half(v));
          GPTQ_CUDA_CHECK(cudaMemcpy(pool.get() + b * batch, x.data(), batch * sizeof(float), cudaMemcpyHostToDevice));
        }
        std::vector<double> times;
        for (int r = 0; r <= reps; ++r) {
          const auto t0 = Clock::now();
          DeviceHessian hs(dev, k, false);
          for (int b = 0; b < kBatches; ++b) hs.accumulate(pool.get() + (b % kPool) * batch, kTokens, kTokens, fp16);
          hs.finish();
          dev.sync();
          if (r > 0) times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
          if (r == reps) hs.read(h.data());
        }
        const std::string hname =
            "hessian K=" + std::to_string(k) + " 128x2048 tokens" + (fp16 ? ", fp16 activations" : "");
        ours[hname] = median(times);
        std::printf("%-40s %9.2f ms\n", hname.c_str(), 1e3 * ours[hname]);
      }
      pool.reset();
      DeviceHessian hs(dev, k, false);
      hs.write(h.data());
      for (const Shape &sh : shapes) {
        if (sh.k != k) continue;
        const auto w = pattern(static_cast<std::size_t>(sh.n) * k, 100, 0.04f);
        const std::size_t nk = static_cast<std::size_t>(sh.n) * k;
        std::vector<std::uint8_t> codes(nk);
        std::vector<float> dequant(nk), scales(static_cast<std::size_t>(k / 128) * sh.n);
        std::vector<std::int32_t> zeros(scales.size()), g_idx(k), perm(k);
        for (const int act : {0, 1}) {
          gptq_plugin_quant_options o{};
          o.bits = 4;
          o.group_size = 128;
          o.sym = 1;
          o.desc_act = act;
          o.damp_percent = 0.01f;
          o.damp_auto_increment = 0.0025f;
          o.block_size = 128;
          o.mse_norm = 2.4f;
          o.mse_grid = 100;
          o.mse_max_shrink = 0.8f;
          gptq_plugin_quant_result res{codes.data(), scales.data(), zeros.data(), g_idx.data(), perm.data(),
                                       dequant.data(), 0.0, 0.0, nullptr, 0.0};
          std::vector<double> factor, solve;
          for (int r = 0; r <= reps; ++r) {
            SolveTimes t;
            gptq_solve(dev, hs, w.data(), sh.n, k, o, res, nullptr, &t);
            if (r == 0) continue;
            factor.push_back(t.factor);
            solve.push_back(t.prepare + t.blocks + t.results);
          }
          const std::string shape = std::to_string(sh.n) + "x" + std::to_string(k) + (act ? " act-order" : "");
          ours["cholesky " + shape] = median(factor);
          ours["solve " + shape] = median(solve);
          std::printf("%-40s %9.2f ms   (loss %.6g, damp %.4f)\n", ("cholesky " + shape).c_str(),
                      1e3 * median(factor), res.loss, res.damp_percent);
          std::printf("%-40s %9.2f ms\n", ("solve " + shape).c_str(), 1e3 * median(solve));
        }
      }
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const auto &[name, s] : ours) {
      nlohmann::json row{{"case", name + " (4-bit g128 sym; median of " + std::to_string(reps) + ")"},
                         {"unit", "s"},
                         {"ours", s}};
      const auto &cases = base.is_object() && base.contains("cases") ? base["cases"] : nlohmann::json();
      if (cases.is_object() && cases.contains(name)) {
        const double b = cases[name]["median_s"];
        row["baseline"] = b;
        if (cases[name].contains("reps")) row["baseline_reps"] = cases[name]["reps"];
        row["speedup"] = b / s;
        std::printf("%-40s ours %9.2f ms  torch %9.2f ms  %6.2fx\n", name.c_str(), 1e3 * s, 1e3 * b, b / s);
      } else {
        row["baseline"] = nullptr;
        row["note"] = "no torch reference timing for this case in this run";
      }
      row["baseline_name"] = "torch_reference_cuda";
      rows.push_back(row);
    }
    if (!json_path.empty()) {
      const char *commit = std::getenv("GPTQ_COMMIT");
      nlohmann::json doc{{"bench", "cuda_quantize_matrix"},
                         {"device", device},
                         {"commit", commit && *commit ? commit : "unknown"},
                         {"date", utc_now()},
                         {"command", command},
                         {"baseline_torch", base.is_object() && base.contains("torch") ? base["torch"] : nullptr},
                         {"rows", rows}};
      std::ofstream out(json_path + ".tmp");
      out << doc.dump(1) << "\n";
      out.close();
      if (!out || std::rename((json_path + ".tmp").c_str(), json_path.c_str()) != 0)
        throw std::runtime_error("cannot write " + json_path);
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "cuda_quantize_matrix_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
