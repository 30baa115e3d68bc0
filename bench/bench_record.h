// What every benchmark records beside its rows (BENCH.md): the device, the
// commit and the date. One implementation for all benchmarks.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include "core/cpu/cpu_info.h"

namespace gptq::bench {

// The CPU model as /proc/cpuinfo names it.
inline std::string cpu_name() { return gptq::cpu_model_name(); }

// `git describe --always --dirty` of `source_dir`, or $GPTQ_COMMIT where the
// tree has no .git (the GPU machine gets a copy of the working tree), or
// "unknown".
inline std::string commit(const std::string &source_dir = ".") {
  if (const char *c = std::getenv("GPTQ_COMMIT"); c && *c) return c;
  const std::string cmd = "git -C '" + source_dir + "' describe --always --dirty 2>/dev/null";
  std::string out;
  if (FILE *p = ::popen(cmd.c_str(), "r")) {
    char buf[128];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out.empty() ? "unknown" : out;
}

// Now, as 2026-11-30T12:00:00Z.
inline std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The command that ran the benchmark, its arguments joined by spaces (the
// record's "command").
inline std::string command_line(int argc, char **argv) {
  std::string cmd;
  for (int i = 0; i < argc; ++i) cmd += (i ? " " : "") + std::string(argv[i]);
  return cmd;
}

}  // namespace gptq::bench
