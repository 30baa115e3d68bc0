// Single-thread encode throughput of gptq::tokenizer on a text file, against the HF
// `tokenizers` figure measured by tests/reference/tokenizer_bench_hf.py on the same
// file and machine.
//
//   tokenizer_bench <model_dir> <text_file> [--runs N] [--hf-json FILE] [--out FILE]
//
// Prints a table and writes BENCH.md-format JSON (to --out, default stdout only).
// Timing: one warm-up encode (fills the word cache, as HF's warm-up fills its BPE
// cache), then the median of N >= 10 timed encode calls of the whole file.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_record.h"
#include "core/error.h"
#include "core/tokenizer/tokenizer.h"

namespace {

std::string read_all(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string basename(const std::string &p) {
  auto s = p.find_last_of('/');
  std::string b = s == std::string::npos ? p : p.substr(s + 1);
  return b.empty() && s != std::string::npos ? basename(p.substr(0, s)) : b;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <model_dir> <text_file> [--runs N] [--hf-json FILE] [--out FILE]\n", argv[0]);
    return 2;
  }
  std::string model_dir = argv[1], text_path = argv[2], hf_json, out_path;
  int runs = 10;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--runs") runs = std::max(10, std::atoi(argv[i + 1]));
    else if (k == "--hf-json") hf_json = argv[i + 1];
    else if (k == "--out") out_path = argv[i + 1];
  }
  try {
    const auto tok = gptq::tokenizer::Tokenizer::open(model_dir);
    const std::string text = read_all(text_path);
    const double mb = double(text.size()) / 1e6;
    std::size_t count = tok.encode(text).size();  // warm-up
    std::vector<double> secs;
    for (int r = 0; r < runs; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      auto ids = tok.encode(text);
      auto t1 = std::chrono::steady_clock::now();
      if (ids.size() != count) throw std::runtime_error("encode is not deterministic");
      secs.push_back(std::chrono::duration<double>(t1 - t0).count());
    }
    std::sort(secs.begin(), secs.end());
    const double median = runs % 2 ? secs[runs / 2] : (secs[runs / 2 - 1] + secs[runs / 2]) / 2;
    const double ours = mb / median;

    const std::string model = basename(model_dir), file = basename(text_path);
    nlohmann::json row = {{"case", model + " encode " + file + " (" + std::to_string(text.size()) +
                                       " bytes, 1 thread, add_special_tokens)"},
                          {"unit", "MB/s"},
                          {"ours", ours},
                          {"baseline", nullptr},
                          {"baseline_name", "hf_tokenizers"},
                          {"speedup", nullptr}};
    std::string note;
    if (!hf_json.empty()) {
      auto hf = nlohmann::json::parse(read_all(hf_json));
      auto m = hf["models"].find(model);
      if (m != hf["models"].end() && hf.value("text", "") == file) {
        double base = (*m)["mb_per_s_median"].get<double>();
        row["baseline"] = base;
        row["baseline_name"] = "hf_tokenizers (" + hf.value("tool", std::string("?")) + ")";
        row["speedup"] = ours / base;
        if ((*m)["count"].get<std::size_t>() != count)
          note = "id count differs from HF: " + std::to_string(count) + " vs " + (*m)["count"].dump();
      } else {
        note = "no HF figure for this model and file in " + hf_json;
      }
    } else {
      note = "HF baseline not given (--hf-json); run tests/reference/tokenizer_bench_hf.py";
    }
    if (!note.empty()) row["note"] = note;

    std::string cmd;
    for (int i = 0; i < argc; ++i) cmd += (i ? " " : "") + std::string(argv[i]);
    nlohmann::json out = {{"bench", "tokenizer_encode"},
                          {"device", gptq::bench::cpu_name()},
                          {"commit", gptq::bench::commit()},
                          {"date", gptq::bench::utc_now()},
                          {"command", cmd},
                          {"rows", nlohmann::json::array({row})}};

    std::printf("%-16s %-22s %10s %12s %12s %8s\n", "model", "file", "ids", "ours MB/s", "HF MB/s", "speedup");
    std::printf("%-16s %-22s %10zu %12.2f %12s %8s\n", model.c_str(), file.c_str(), count, ours,
                row["baseline"].is_null() ? "-" : std::to_string(row["baseline"].get<double>()).c_str(),
                row["speedup"].is_null() ? "-" : std::to_string(row["speedup"].get<double>()).c_str());
    if (!note.empty()) std::printf("note: %s\n", note.c_str());
    std::cout << out.dump(2) << "\n";
    if (!out_path.empty()) std::ofstream(out_path) << out.dump(2) << "\n";
  } catch (const gptq::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
