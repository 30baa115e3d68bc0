// Tokenizer load time and single-thread encode throughput of gptq::tokenizer against
// Hugging Face tokenizers, in the same run on the same machine and text.
//
//   tokenizer_bench [--npm DIR] [--runs N] [--out FILE] [--one-word FAMILY_DIR]
//                   TEXT_FILE TOKENIZER_PATH...
//
// TOKENIZER_PATH: a tokenizer directory or a tokenizer.json (named by its folder).
// --npm DIR: the folder holding node_modules/tokenizers (npm package, the Rust library
//   of HF tokenizers); the baseline then runs in this same run through
//   tests/reference/hf_tokenizers_npm.js (op "bench", RAYON_NUM_THREADS=1). Without it
//   the baseline is null and the row says why.
// --one-word DIR: also encode the text with its spaces removed with that tokenizer (a
//   Llama-2-form one: the whole text is then one BPE word with no place to cut it).
// Timing: N >= 10 timed loads (median); then one warm-up encode (fills the word cache,
// as HF's warm-up fills its BPE cache) and the median of N timed encode calls of the
// whole file, special tokens added, one thread. Prints a table and writes BENCH.md-format
// JSON (bench "tokenizer_encode": encode and load rows) to --out.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench/bench_record.h"
#include "core/base/error.h"
#include "core/model/tokenizer_files.h"
#include "core/tokenizer/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string read_all(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string family_name(const std::string &path) {
  std::string p = path;
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (p.size() > 15 && p.ends_with("/tokenizer.json")) p.resize(p.size() - 15);
  const auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

std::string tokenizer_file(const std::string &path) {
  std::string p = path;
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p.ends_with(".json") ? p : p + "/tokenizer.json";
}

std::string shell_quote(const std::string &s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The npm baseline: {"load_s": [...], "encode_s": [...], "count", "bytes"}.
nlohmann::json npm_bench(const std::string &npm_dir, const std::string &tok_file, const std::string &text_file,
                         bool strip_spaces, int runs) {
  const std::string req_path = "/tmp/tokenizer_bench_req_" + std::to_string(::getpid()) + ".json";
  std::ofstream(req_path) << nlohmann::json{{"op", "bench"}, {"tokenizer", tok_file}, {"text_file", text_file},
                                            {"strip_spaces", strip_spaces}, {"runs", runs}}
                                 .dump();
  const std::string script = std::string(GPTQ_BENCH_SOURCE_DIR) + "/tests/reference/hf_tokenizers_npm.js";
  const std::string cmd = "RAYON_NUM_THREADS=1 NODE_PATH=" + shell_quote(npm_dir + "/node_modules") + " node " +
                          shell_quote(script) + " < " + shell_quote(req_path);
  std::string out;
  if (FILE *p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int rc = ::pclose(p);
    std::remove(req_path.c_str());
    if (rc != 0) throw std::runtime_error("npm baseline failed (rc " + std::to_string(rc) + "): " + cmd);
  }
  auto doc = nlohmann::json::parse(out);
  doc["results"]["version"] = doc["version"];
  return doc["results"];
}

struct Measured {
  std::vector<double> load_s, encode_s;
  std::size_t count = 0, bytes = 0;
};

Measured measure_ours(const std::string &path, const std::string &text, int runs) {
  Measured m;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    const auto tok = gptq::model::open_tokenizer(path);
    m.load_s.push_back(seconds_since(t0));
  }
  const auto tok = gptq::model::open_tokenizer(path);
  m.count = tok.encode(text).size();  // warm-up
  m.bytes = text.size();
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    const auto ids = tok.encode(text);
    m.encode_s.push_back(seconds_since(t0));
    if (ids.size() != m.count) throw std::runtime_error("encode is not deterministic");
  }
  return m;
}

}  // namespace

int main(int argc, char **argv) {
  std::string npm_dir, out_path, one_word;
  int runs = 10;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--runs" && i + 1 < argc) runs = std::max(10, std::atoi(argv[++i]));
    else if (k == "--npm" && i + 1 < argc) npm_dir = argv[++i];
    else if (k == "--out" && i + 1 < argc) out_path = argv[++i];
    else if (k == "--one-word" && i + 1 < argc) one_word = argv[++i];
    else pos.push_back(k);
  }
  if (pos.size() < 2) {
    std::fprintf(stderr,
                 "usage: %s [--npm DIR] [--runs N] [--out FILE] [--one-word DIR] TEXT_FILE TOKENIZER_PATH...\n",
                 argv[0]);
    return 2;
  }
  try {
    const std::string text_path = pos[0];
    const std::string text = read_all(text_path);
    std::string file = text_path.substr(text_path.find_last_of('/') + 1);
    struct Job {
      std::string path;
      bool strip_spaces;
    };
    std::vector<Job> jobs;
    for (std::size_t i = 1; i < pos.size(); ++i) jobs.push_back({pos[i], false});
    if (!one_word.empty()) jobs.push_back({one_word, true});

    nlohmann::json rows = nlohmann::json::array();
    std::string baseline_version;
    std::printf("%-14s %-28s %9s %10s %10s %8s %8s %8s %7s\n", "tokenizer", "text", "ids", "ours MB/s",
                "HF MB/s", "speedup", "ours s", "HF s", "load x");
    for (const Job &job : jobs) {
      std::string t = text;
      if (job.strip_spaces) t.erase(std::remove(t.begin(), t.end(), ' '), t.end());
      const Measured ours = measure_ours(job.path, t, runs);
      const std::string fam = family_name(job.path);
      const std::string what = job.strip_spaces ? file + " without spaces (one BPE word)" : file;
      nlohmann::json base = nullptr;
      std::string note;
      if (!npm_dir.empty()) {
        base = npm_bench(npm_dir, tokenizer_file(job.path), text_path, job.strip_spaces, runs);
        baseline_version = base["version"];
        if (base["count"].get<std::size_t>() != ours.count)
          note = "id count differs from HF: " + std::to_string(ours.count) + " vs " + base["count"].dump();
        if (base["bytes"].get<std::size_t>() != ours.bytes) note += " (HF read " + base["bytes"].dump() + " bytes)";
      } else {
        note = "no baseline: run with --npm DIR (npm install tokenizers@0.23.2)";
      }
      const double mb = double(ours.bytes) / 1e6;
      const double ours_mbs = mb / median(ours.encode_s), ours_load = median(ours.load_s);
      const double base_mbs = base.is_null() ? 0 : mb / median(base["encode_s"].get<std::vector<double>>());
      const double base_load = base.is_null() ? 0 : median(base["load_s"].get<std::vector<double>>());
      const std::string bname = baseline_version.empty() ? "hf_tokenizers"
                                                         : "hf_tokenizers " + baseline_version + " (npm)";
      nlohmann::json enc = {{"case", fam + " encode " + what + " (" + std::to_string(ours.bytes) +
                                         " bytes, 1 thread, one call, add_special_tokens)"},
                            {"unit", "MB/s"},
                            {"ours", ours_mbs},
                            {"baseline", base.is_null() ? nlohmann::json(nullptr) : nlohmann::json(base_mbs)},
                            {"baseline_name", bname},
                            {"speedup", base.is_null() ? nlohmann::json(nullptr) : nlohmann::json(ours_mbs / base_mbs)}};
      if (!note.empty()) enc["note"] = note;
      rows.push_back(enc);
      if (!job.strip_spaces) {
        nlohmann::json load = {{"case", fam + " load " + tokenizer_file(job.path).substr(tokenizer_file(job.path).find_last_of('/') + 1) +
                                            " (+ tokenizer_config.json)"},
                               {"unit", "s"},
                               {"ours", ours_load},
                               {"baseline", base.is_null() ? nlohmann::json(nullptr) : nlohmann::json(base_load)},
                               {"baseline_name", bname + (base.is_null() ? "" : ", Tokenizer.fromFile")},
                               {"speedup", base.is_null() ? nlohmann::json(nullptr) : nlohmann::json(base_load / ours_load)}};
        rows.push_back(load);
      }
      std::printf("%-14s %-28s %9zu %10.2f %10.2f %8.1f %8.3f %8.3f %7.2f%s%s\n", fam.c_str(),
                  (job.strip_spaces ? "no spaces (one word)" : file).c_str(), ours.count, ours_mbs, base_mbs,
                  base.is_null() ? 0.0 : ours_mbs / base_mbs, ours_load, base_load,
                  base.is_null() ? 0.0 : base_load / ours_load, note.empty() ? "" : "  note: ", note.c_str());
      std::fflush(stdout);
    }
    nlohmann::json out = {{"bench", "tokenizer_encode"},
                          {"device", gptq::bench::cpu_name()},
                          {"commit", gptq::bench::commit(GPTQ_BENCH_SOURCE_DIR)},
                          {"date", gptq::bench::utc_now()},
                          {"command", gptq::bench::command_line(argc, argv)},
                          {"rows", rows}};
    if (!out_path.empty()) std::ofstream(out_path) << out.dump(2) << "\n";
    else std::cout << out.dump(2) << "\n";
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
