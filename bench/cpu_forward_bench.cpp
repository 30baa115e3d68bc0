// Throughput of the fp32 CPU forward pass (the CPU forward engine,
// core/backend/cpu_forward_engine.h) on the test models:
//   prefill: one 512-token window from position 0 with the logits of every
//            row (what perplexity runs per window);
//   decode:  one token at a time with the KV cache, positions 128..159, last
//            row's logits only (what generation runs per token).
// Median of the timed repetitions after warm-up, in tokens per second, with
// one thread per core (the pool of a default context). No baseline: torch/transformers are not installed on
// the CPU machine (rows say so). Prints a table and writes
// bench/results/cpu_forward-cpu-2core.json (format: ../shared/design/BENCH.md).
//
// Usage: cpu_forward_bench [shared-dir] [output.json]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_record.h"
#include "core/backend/cpu_forward_engine.h"
#include "core/io/read_file.h"
#include "core/model/model.h"

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr int kWarmup = 2;
constexpr int kPrefillRuns = 10;
constexpr int kDecodeSteps = 32;
constexpr std::int64_t kWindow = 512, kDecodeFrom = 128;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

json row(const std::string &c, double tok_per_s) {
  return {{"case", c},
          {"unit", "tok/s"},
          {"ours", tok_per_s},
          {"baseline", nullptr},
          {"baseline_name", "transformers fp32 on CPU: not measured (torch is not installed on the CPU machine)"}};
}

}  // namespace

int main(int argc, char **argv) try {
  const fs::path src = GPTQ_BENCH_SOURCE_DIR;
  const fs::path shared = argc > 1 ? fs::path(argv[1]) : src / ".." / "shared";
  const fs::path out = argc > 2 ? fs::path(argv[2]) : src / "bench/results/cpu_forward-cpu-2core.json";
  const std::string text = gptq::io::read_text_file(shared / "data/docs_heldout.txt", 1 << 26);
  const unsigned threads = std::thread::hardware_concurrency();
  gptq::ThreadPool pool(static_cast<int>(threads));
  const gptq::Compute compute(pool);
  const gptq::CpuForwardEngine engine;
  json rows = json::array();
  std::printf("%-16s %-44s %10s\n", "model", "case", "tok/s");
  for (const char *name : {"docs-llama-16m", "docs-opt-15m"}) {
    const auto model = gptq::model::Model::open(shared / "models" / name);
    const auto forward = engine.prepare(compute, model->spec(), model->weights());
    std::vector<std::int32_t> ids = model->tokenizer()->encode(text.substr(0, 8192));
    ids.resize(kWindow);

    std::vector<double> prefill;
    for (int i = 0; i < kWarmup + kPrefillRuns; ++i) {
      const auto t0 = Clock::now();
      const gptq::Matrix logits = engine.run(compute, *forward, ids, 1, kWindow, nullptr, false);
      if (i >= kWarmup) prefill.push_back(kWindow / seconds_since(t0));
    }
    const std::string prefill_case = std::string(name) + ": prefill 512 tokens, logits of every row, " +
                                     std::to_string(threads) + " threads, median of 10";

    const auto cache = engine.make_cache(*forward, 1, kDecodeFrom + kWarmup + kDecodeSteps);
    engine.run(compute, *forward, std::span(ids).first(kDecodeFrom), 1, kDecodeFrom, cache.get(), true);
    std::vector<double> decode;
    for (int i = 0; i < kWarmup + kDecodeSteps; ++i) {
      const auto t0 = Clock::now();
      engine.run(compute, *forward, std::span(ids).subspan(static_cast<std::size_t>(kDecodeFrom + i), 1), 1, 1,
                 cache.get(), true);
      if (i >= kWarmup) decode.push_back(1.0 / seconds_since(t0));
    }
    const std::string decode_case = std::string(name) + ": decode 1 token with KV cache at positions " +
                                    std::to_string(kDecodeFrom + kWarmup) + ".." +
                                    std::to_string(kDecodeFrom + kWarmup + kDecodeSteps - 1) + ", " +
                                    std::to_string(threads) + " threads, median of " + std::to_string(kDecodeSteps);
    rows.push_back(row(prefill_case, median(prefill)));
    rows.push_back(row(decode_case, median(decode)));
    std::printf("%-16s %-44s %10.0f\n", name, "prefill 512 (perplexity window)", median(prefill));
    std::printf("%-16s %-44s %10.0f\n", name, "decode 1 token (KV cache)", median(decode));
  }
  const json result = {{"bench", "cpu_forward"},
                       {"device", gptq::bench::cpu_name()},
                       {"commit", gptq::bench::commit(src.string())},
                       {"date", gptq::bench::utc_now()},
                       {"command", "build/default/bench/cpu_forward_bench"},
                       {"rows", rows}};
  std::ofstream(out) << result.dump(2) << "\n";
  std::printf("wrote %s\n", out.c_str());
  return 0;
} catch (const std::exception &e) {
  std::fprintf(stderr, "cpu_forward_bench: %s\n", e.what());
  return 1;
}
