// Per-token cost of the host sampler (core/eval/sampler.cpp) against the plain
// algorithm it replaced (tests/core/eval/sampler_reference.h), in the same
// run on the same rows: random normal logits (seeded), 300 tokens of history,
// Llama-2 (32000) and Llama-3 (128256) vocabularies, at the default options
// and with nucleus sampling. Both must give the same tokens (checked).
//
//   sampler_bench [--runs N] [--out FILE]
//
// Timing: per case, a warm-up call, then N >= 10 timed calls of next() on a
// fresh copy of the row (the copy is not timed); the median. One thread,
// timed by its CPU time (CLOCK_THREAD_CPUTIME_ID) so that a busy machine's
// preemptions do not land in the figures (its cache traffic still does).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <time.h>

#include <nlohmann/json.hpp>

#include "bench/bench_record.h"
#include "core/eval/sampler.h"
#include "tests/core/eval/sampler_reference.h"

namespace {

double thread_cpu_ms() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Timed {
  std::vector<double> ms;
  std::vector<std::int32_t> tokens;
};

template <class S>
Timed time_sampler(const gptq::eval::SamplingOptions &o, const std::vector<float> &row,
                   const std::vector<std::int32_t> &history, int runs) {
  S sampler(o);
  Timed t;
  std::vector<float> logits;
  for (int r = 0; r <= runs; ++r) {  // r == 0: warm-up
    logits = row;
    const double t0 = thread_cpu_ms();
    const std::int32_t id = sampler.next(logits, history);
    const double ms = thread_cpu_ms() - t0;
    t.tokens.push_back(id);
    if (r > 0) t.ms.push_back(ms);
  }
  return t;
}

}  // namespace

int main(int argc, char **argv) {
  int runs = 30;
  std::string out_path;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--runs" && i + 1 < argc) runs = std::max(10, std::atoi(argv[++i]));
    else if (k == "--out" && i + 1 < argc) out_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--runs N] [--out FILE]\n", argv[0]);
      return 2;
    }
  }
  struct Options {
    const char *name;
    double temperature, top_p, penalty;
    std::int64_t top_k;
  };
  const Options configs[] = {{"temperature 1 (defaults: no top-k/top-p/penalty)", 1.0, 1.0, 1.0, 0},
                             {"temperature 0.7, top_p 0.9, penalty 1.1", 0.7, 0.9, 1.1, 0},
                             {"temperature 0.7, top_p 0.9, penalty 1.1, top_k 50", 0.7, 0.9, 1.1, 50}};
  nlohmann::json rows = nlohmann::json::array();
  std::printf("%-7s %-52s %10s %10s %8s\n", "vocab", "options", "ours ms", "plain ms", "speedup");
  for (const std::size_t vocab : {std::size_t{32000}, std::size_t{128256}}) {
    std::mt19937_64 rng(vocab);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> row(vocab);
    for (float &l : row) l = normal(rng);
    std::vector<std::int32_t> history(300);
    for (std::int32_t &id : history) id = static_cast<std::int32_t>(rng() % vocab);
    for (const Options &c : configs) {
      gptq::eval::SamplingOptions o;
      o.temperature = c.temperature;
      o.top_p = c.top_p;
      o.top_k = c.top_k;
      o.repetition_penalty = c.penalty;
      o.seed = 7;
      const Timed ours = time_sampler<gptq::eval::Sampler>(o, row, history, runs);
      const Timed plain = time_sampler<gptq::eval::reference::ReferenceSampler>(o, row, history, runs);
      if (ours.tokens != plain.tokens) {
        std::fprintf(stderr, "error: vocab %zu, %s: the tokens differ from the plain sampler's\n", vocab, c.name);
        return 1;
      }
      const double a = median(ours.ms), b = median(plain.ms);
      rows.push_back({{"case", "vocab " + std::to_string(vocab) + ", " + c.name +
                                   ", random normal logits, 300 tokens of history, 1 thread, thread CPU time per token"},
                      {"unit", "ms"},
                      {"ours", a},
                      {"baseline", b},
                      {"baseline_name", "plain sampler (tests/core/eval/sampler_reference.h, same tokens)"},
                      {"speedup", b / a}});
      std::printf("%-7zu %-52s %10.3f %10.3f %8.1f\n", vocab, c.name, a, b, b / a);
      std::fflush(stdout);
    }
  }
  const nlohmann::json out = {{"bench", "sampler"},
                              {"device", gptq::bench::cpu_name()},
                              {"commit", gptq::bench::commit(GPTQ_BENCH_SOURCE_DIR)},
                              {"date", gptq::bench::utc_now()},
                              {"command", gptq::bench::command_line(argc, argv)},
                              {"rows", rows}};
  if (!out_path.empty()) std::ofstream(out_path) << out.dump(2) << "\n";
  else std::cout << out.dump(2) << "\n";
  return 0;
}
