// Time to open a sharded model and read its first tensor (first by name):
// ours = ShardedCheckpoint (index only at open, mmap of the one shard needed,
// zero-copy view); baseline = a naive loader that read()s the whole shard file
// holding that tensor into memory and parses it there. Both read every byte of
// the tensor (a checksum), with the files in the page cache after warm-up.
// Prints a table and writes bench/results/open_model-cpu-2core.json
// (format: ../shared/design/BENCH.md).
//
// Usage: open_model_bench [shared-dir] [output.json]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_record.h"
#include "core/base/error.h"
#include "core/io/atomic_file.h"
#include "core/io/read_file.h"
#include "core/io/safetensors_reader.h"
#include "core/io/sharded_checkpoint.h"

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr int kWarmup = 3;
constexpr int kRuns = 21;

std::uint64_t checksum(std::span<const std::byte> data) {
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data.data() + i, 8);
    sum += w;
  }
  for (; i < data.size(); ++i) sum += static_cast<std::uint64_t>(data[i]);
  return sum;
}

struct Result {
  std::uint64_t checksum;
  std::size_t bytes;
};

Result ours(const fs::path &dir) {
  const auto ckpt = gptq::io::ShardedCheckpoint::open(dir);
  const auto view = ckpt.tensor(ckpt.tensor_names().front());
  return {checksum(view.data), view.data.size()};
}

std::vector<std::byte> read_whole(const fs::path &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path.string());
  std::vector<std::byte> buf(fs::file_size(path));
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  buf.resize(done);
  return buf;
}

Result baseline(const fs::path &dir) {
  const json index = json::parse(gptq::io::read_text_file(dir / "model.safetensors.index.json", 1 << 26));
  const auto &map = index.at("weight_map");
  const std::string name = map.begin().key();  // nlohmann objects are sorted by key
  const fs::path shard = dir / map.begin().value().get<std::string>();
  const std::vector<std::byte> bytes = read_whole(shard);
  const auto file = gptq::io::SafetensorsFile::from_memory(bytes, shard.string());
  const auto view = file.tensor(name);
  return {checksum(view.data), view.data.size()};
}

template <typename F>
double median_us(F &&f, const fs::path &dir, std::uint64_t expect) {
  for (int i = 0; i < kWarmup; ++i) f(dir);
  std::vector<double> times;
  for (int i = 0; i < kRuns; ++i) {
    const auto t0 = Clock::now();
    const Result r = f(dir);
    const auto t1 = Clock::now();
    if (r.checksum != expect) throw std::runtime_error("checksum mismatch in " + dir.string());
    times.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char **argv) try {
  const fs::path src = GPTQ_BENCH_SOURCE_DIR;
  const fs::path shared = argc > 1 ? fs::path(argv[1]) : src / ".." / "shared";
  const fs::path out = argc > 2 ? fs::path(argv[2]) : src / "bench/results/open_model-cpu-2core.json";

  json rows = json::array();
  std::printf("%-16s %-40s %10s %12s %12s %8s\n", "model", "first tensor", "MB", "ours us",
              "read() us", "speedup");
  for (const char *model : {"docs-llama-16m", "docs-opt-15m"}) {
    const fs::path dir = shared / "models" / model;
    const Result reference = ours(dir);
    if (baseline(dir).checksum != reference.checksum)
      throw std::runtime_error(std::string(model) + ": ours and baseline read different bytes");
    const double t_ours = median_us(ours, dir, reference.checksum);
    const double t_base = median_us(baseline, dir, reference.checksum);
    const std::string first = gptq::io::ShardedCheckpoint::open(dir).tensor_names().front();
    std::printf("%-16s %-40s %10.2f %12.1f %12.1f %8.2f\n", model, first.c_str(),
                static_cast<double>(reference.bytes) / 1e6, t_ours, t_base, t_base / t_ours);
    rows.push_back({{"case", std::string(model) + ": open index + read first tensor '" + first +
                                 "' (" + std::to_string(reference.bytes) +
                                 " bytes), page cache warm, median of " + std::to_string(kRuns)},
                    {"unit", "us"},
                    {"ours", t_ours},
                    {"baseline", t_base},
                    {"baseline_name", "read_whole_shard (read() the shard into memory, then parse)"},
                    {"speedup", t_base / t_ours}});
  }
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  const json result = {{"bench", "open_model"}, {"device", gptq::bench::cpu_name()},
                       {"commit", gptq::bench::commit(src.string())}, {"date", gptq::bench::utc_now()},
                       {"command", command},          {"rows", rows}};
  gptq::io::write_file_atomically(out, result.dump(2) + "\n");
  std::printf("wrote %s\n", out.c_str());
  return 0;
} catch (const std::exception &e) {
  std::fprintf(stderr, "open_model_bench: %s\n", e.what());
  return 1;
}
