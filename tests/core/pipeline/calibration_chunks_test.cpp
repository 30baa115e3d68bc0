// The chunk plan of the calibration rows (core/pipeline/calibration_chunks.h):
// the split into windows, the forcing variable, the device-memory estimate
// against the README's arithmetic and the 7B run's measured peak, and the
// decision for each kind of engine and device. The pipeline with chunks is
// tested in quantize_model_chunked_test.cpp.
#include "core/pipeline/calibration_chunks.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/model/model_config.h"

namespace gptq::quant {
namespace {

// Sets the forcing variable for a scope (unset: nullptr).
class ChunkWindowsVariable {
 public:
  explicit ChunkWindowsVariable(const char *value) {
    if (value)
      ::setenv(kChunkWindowsVariable, value, 1);
    else
      ::unsetenv(kChunkWindowsVariable);
  }
  ~ChunkWindowsVariable() { ::unsetenv(kChunkWindowsVariable); }
  ChunkWindowsVariable(const ChunkWindowsVariable &) = delete;
  ChunkWindowsVariable &operator=(const ChunkWindowsVariable &) = delete;
};

model::ModelSpec llama(std::int64_t hidden, std::int64_t intermediate, std::int64_t heads, std::int64_t kv_heads) {
  return model::parse_model_config(
      R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": )" + std::to_string(hidden) +
          R"(, "intermediate_size": )" + std::to_string(intermediate) + R"(, "num_attention_heads": )" +
          std::to_string(heads) + R"(, "num_key_value_heads": )" + std::to_string(kv_heads) +
          R"(, "num_hidden_layers": 2, "vocab_size": 32000, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
          "hidden_act": "silu", "tie_word_embeddings": false})",
      "llama");
}

schema::QuantizeConfigT sequential(bool on) {
  schema::QuantizeConfigT c;
  c.true_sequential = on;
  return c;
}

constexpr double kGB = 1e9;

TEST(CalibrationChunks, SplitsWindowsInOrderTheLastHoldingTheRest) {
  const CalibrationChunks c{5, 2};
  EXPECT_TRUE(c.chunked());
  ASSERT_EQ(c.count(), 3);
  EXPECT_EQ(c.first(0), 0);
  EXPECT_EQ(c.first(2), 4);
  EXPECT_EQ(c.windows(0), 2);
  EXPECT_EQ(c.windows(1), 2);
  EXPECT_EQ(c.windows(2), 1);
  const CalibrationChunks all{5, 5};
  EXPECT_FALSE(all.chunked());
  EXPECT_EQ(all.count(), 1);
  EXPECT_EQ(all.windows(0), 5);
}

TEST(CalibrationChunks, TheVariableTakesAWholeNumberOfWindows) {
  {
    const ChunkWindowsVariable unset(nullptr);
    EXPECT_FALSE(forced_chunk_windows());
  }
  {
    const ChunkWindowsVariable empty("");
    EXPECT_FALSE(forced_chunk_windows());
  }
  {
    const ChunkWindowsVariable three("3");
    EXPECT_EQ(forced_chunk_windows(), 3);
  }
  for (const char *bad : {"0", "-2", "two", "2x", " ", "99999999999999999999999"}) {
    const ChunkWindowsVariable v(bad);
    try {
      (void)forced_chunk_windows();
      ADD_FAILURE() << bad << " was taken";
    } catch (const Error &e) {
      EXPECT_EQ(e.status(), Status::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(std::string(kChunkWindowsVariable) + "=" + bad), std::string::npos)
          << e.what();
    }
  }
}

// README ("The same arithmetic for a 70B-shaped model"): all 262,144 rows of
// 128 x 2048 tokens need 88 GB of activations on the device in a block run.
TEST(CalibrationChunks, PerWindowBytesAreTheReadmesArithmetic) {
  const model::ModelSpec l70 = llama(8192, 28672, 64, 8);
  const CalibrationDeviceBytes b = calibration_device_bytes(l70, sequential(true), 2048, 0);
  EXPECT_NEAR(static_cast<double>(b.per_window) * 128 / kGB, 88.05, 0.1);
  // Not true-sequential, the float block runs on a copy of the hidden state.
  const CalibrationDeviceBytes copy = calibration_device_bytes(l70, sequential(false), 2048, 0);
  EXPECT_EQ(copy.per_window - b.per_window, std::uint64_t{4} * 8192 * 2048);
  // ... and holds every group's Hessian at once, each with its scratch.
  EXPECT_GT(copy.block, b.block);
  ASSERT_EQ(b.hessian_scratch.size(), 1u);
  EXPECT_EQ(b.hessian_scratch[0].row_bytes, 28672u * 2) << "the widest input, down_proj's, in fp16";
  EXPECT_EQ(copy.hessian_scratch.size(), 4u);
  EXPECT_EQ(b.total(1) - b.total(0), b.per_window + std::uint64_t{28672} * 2 * 2048)
      << "a window's rows in the scratch, below its cap";
  EXPECT_EQ(b.total(128) - b.total(127), b.per_window) << "the scratch at its cap";
  // The margin: a 20th of the device, at least 512 MiB.
  EXPECT_EQ(b.margin, std::uint64_t{512} << 20);
  EXPECT_EQ(calibration_device_bytes(l70, sequential(true), 2048, std::uint64_t{140} << 30).margin,
            (std::uint64_t{140} << 30) / 20);
}

// README ("GPTQ of a 7B-shaped Llama"): the run's own allocations peaked at
// 48.3 GB with 128 x 2048 tokens at once. The estimate (without its margin)
// must not be below that, nor so far above that it chunks runs that fit.
TEST(CalibrationChunks, TheEstimateCoversThe7bRunsMeasuredPeak) {
  const model::ModelSpec l7 = llama(4096, 11008, 32, 32);
  const CalibrationDeviceBytes b = calibration_device_bytes(l7, sequential(true), 2048, 0);
  const double estimate = static_cast<double>(b.total(128) - b.margin) / kGB;
  std::printf("7B-shaped, 128 x 2048: %.1f GB estimated (%.1f MB a window, %.2f GB a block) against 48.3 GB measured\n",
              estimate, static_cast<double>(b.per_window) / 1e6, static_cast<double>(b.block) / kGB);
  EXPECT_GE(estimate, 48.3);
  EXPECT_LE(estimate, 48.3 * 1.15);
}

// README (the 70B-shaped run, bench/results/cuda_quantize_70b-h200.json):
// Llama-2-70B widths with 128 x 2048 tokens at once peaked at 110.14 GB of
// the library's own allocations on the H200. Same bounds as above.
TEST(CalibrationChunks, TheEstimateCoversThe70bRunsMeasuredPeak) {
  const model::ModelSpec l70 = llama(8192, 28672, 64, 8);
  const CalibrationDeviceBytes b = calibration_device_bytes(l70, sequential(true), 2048, 0);
  const double estimate = static_cast<double>(b.total(128) - b.margin) / kGB;
  std::printf("70B-shaped, 128 x 2048: %.1f GB estimated (%.1f MB a window, %.2f GB a block) against 110.14 GB "
              "measured\n",
              estimate, static_cast<double>(b.per_window) / 1e6, static_cast<double>(b.block) / kGB);
  EXPECT_GE(estimate, 110.14);
  EXPECT_LE(estimate, 110.14 * 1.15);
}

TEST(CalibrationChunks, ChunksAreAsManyAsNeededAndEven) {
  CalibrationDeviceBytes b;
  b.per_window = 100;
  b.block = 1000;
  b.margin = 500;
  EXPECT_EQ(chunk_windows_that_fit(b, 1500 + 128 * 100, 128), 128) << "all fit";
  EXPECT_EQ(chunk_windows_that_fit(b, 1500 + 100 * 100, 128), 64) << "100 fit: two chunks of 64";
  EXPECT_EQ(chunk_windows_that_fit(b, 1500 + 50 * 100 + 99, 128), 43) << "50 fit: three chunks, 43 + 43 + 42";
  EXPECT_EQ(chunk_windows_that_fit(b, 1500 + 100, 128), 1);
  EXPECT_EQ(chunk_windows_that_fit(b, 1500, 128), 1) << "none fit: one at a time, the best there is";
  EXPECT_EQ(chunk_windows_that_fit(b, 10, 128), 1);
  // A Hessian's scratch grows with the rows up to its cap.
  b.seq = 10;
  b.hessian_scratch = {{5, 2000}};  // 50 bytes a window, up to 2000: 40 windows
  EXPECT_EQ(b.total(40) - b.total(0), 40u * 100 + 2000);
  EXPECT_EQ(b.total(41) - b.total(40), 100u);
  EXPECT_EQ(chunk_windows_that_fit(b, b.total(128), 128), 128);
  EXPECT_EQ(chunk_windows_that_fit(b, b.total(100), 128), 64);
  EXPECT_EQ(chunk_windows_that_fit(b, b.total(20) + 149, 128), 19) << "20 fit: 7 chunks of 19 (the last 14)";
}

// A forward engine that only has a name: the plan reads nothing else.
class NamedEngine final : public ForwardEngine {
 public:
  explicit NamedEngine(std::string name) : name_(std::move(name)) {}
  std::string_view backend() const override { return name_; }
  std::shared_ptr<const PreparedModel> prepare(const Compute &, const model::ModelSpec &,
                                               const io::ShardedCheckpoint &) const override {
    unused();
  }
  std::unique_ptr<SequenceCache> make_cache(const PreparedModel &, std::int64_t, std::int64_t) const override {
    unused();
  }
  Matrix run(const Compute &, const PreparedModel &, std::span<const std::int32_t>, std::int64_t, std::int64_t,
             SequenceCache *, bool, std::span<const std::int64_t>) const override {
    unused();
  }
  std::unique_ptr<Activations> embed(const Compute &, const model::ModelSpec &, const model::GlobalWeights &,
                                     std::span<const std::int32_t>, std::int64_t, std::int64_t) const override {
    unused();
  }
  std::unique_ptr<Activations> copy(const Activations &) const override { unused(); }
  void run_block(const Compute &, const model::ModelSpec &, const model::BlockWeights &, Activations &, std::int64_t,
                 std::int64_t, const ActivationsObserver &) const override {
    unused();
  }

 private:
  [[noreturn]] static void unused() { fail(Status::Internal, "the chunk plan ran the forward engine"); }
  std::string name_;
};

// A device of `free` of `total` bytes, or none.
class Device final : public Backend {
 public:
  Device(std::string name, std::optional<DeviceMemory> memory) : name_(std::move(name)), memory_(memory) {}
  std::string_view name() const override { return name_; }
  std::string device_name() const override { return "test device"; }
  void self_test() override {}
  std::optional<DeviceMemory> memory() const override { return memory_; }

 private:
  std::string name_;
  std::optional<DeviceMemory> memory_;
};

struct Logged {
  Logger log{LogLevel::Debug};
  std::vector<std::pair<LogLevel, std::string>> lines;
  Logged() {
    log.set_sink([this](LogLevel l, const std::string &m) { lines.emplace_back(l, m); });
  }
};

TEST(CalibrationChunks, ThePlanChunksOnlyADeviceTooSmallOrWhenForced) {
  const ChunkWindowsVariable unset(nullptr);
  const model::ModelSpec l7 = llama(4096, 11008, 32, 32);
  const schema::QuantizeConfigT cfg = sequential(true);
  const NamedEngine cuda("cuda"), cpu("cpu");
  const std::uint64_t total = std::uint64_t{141} << 30;
  const CalibrationDeviceBytes b = calibration_device_bytes(l7, cfg, 2048, total);
  const Device big("cuda", DeviceMemory{total, total}), host("cpu", std::nullopt);
  const Device small("cuda", DeviceMemory{b.total(40), total});

  {
    Logged l;
    EXPECT_FALSE(plan_calibration_chunks(l7, cfg, 128, 2048, cpu, &host, l.log).chunked()) << "the CPU: never";
    EXPECT_FALSE(plan_calibration_chunks(l7, cfg, 128, 2048, cpu, &small, l.log).chunked())
        << "the CPU engine beside a GPU backend: its rows are in host memory";
    EXPECT_FALSE(plan_calibration_chunks(l7, cfg, 128, 2048, cuda, nullptr, l.log).chunked());
    EXPECT_TRUE(l.lines.empty()) << "nothing to say without a device";
  }
  {
    Logged l;
    const CalibrationChunks p = plan_calibration_chunks(l7, cfg, 128, 2048, cuda, &big, l.log);
    EXPECT_FALSE(p.chunked());
    EXPECT_EQ(p.per_chunk, 128);
    ASSERT_EQ(l.lines.size(), 1u);
    EXPECT_EQ(l.lines[0].first, LogLevel::Info);
    EXPECT_NE(l.lines[0].second.find("calibration rows on the device at once: 128 windows of 2048 tokens need about"),
              std::string::npos)
        << l.lines[0].second;
  }
  {
    Logged l;
    const CalibrationChunks p = plan_calibration_chunks(l7, cfg, 128, 2048, cuda, &small, l.log);
    EXPECT_EQ(p.per_chunk, 32) << "40 fit: 4 chunks of 32";
    ASSERT_EQ(l.lines.size(), 1u);
    EXPECT_EQ(l.lines[0].first, LogLevel::Info);
    EXPECT_NE(l.lines[0].second.find("calibration rows in 4 chunks of 32 windows, parked in host memory"),
              std::string::npos)
        << l.lines[0].second;
  }
  {
    Logged l;
    const Device tiny("cuda", DeviceMemory{b.block, total});
    EXPECT_EQ(plan_calibration_chunks(l7, cfg, 128, 2048, cuda, &tiny, l.log).per_chunk, 1);
    ASSERT_EQ(l.lines.size(), 1u);
    EXPECT_EQ(l.lines[0].first, LogLevel::Warn);
    EXPECT_NE(l.lines[0].second.find("not even one window fits"), std::string::npos) << l.lines[0].second;
  }
  {
    const ChunkWindowsVariable forced("3");
    Logged l;
    EXPECT_EQ(plan_calibration_chunks(l7, cfg, 8, 2048, cpu, &host, l.log).per_chunk, 3) << "forced: any engine";
    EXPECT_EQ(plan_calibration_chunks(l7, cfg, 8, 2048, cuda, &big, l.log).per_chunk, 3) << "forced: room or not";
    EXPECT_EQ(plan_calibration_chunks(l7, cfg, 2, 2048, cuda, &big, l.log).per_chunk, 2) << "3 >= 2: at once";
    ASSERT_EQ(l.lines.size(), 3u);
    EXPECT_EQ(l.lines[0].second, "quantize: GPTQ_CALIBRATION_CHUNK_WINDOWS=3: calibration rows in 3 chunks of 3 "
                                 "windows, parked in host memory between blocks");
    EXPECT_EQ(l.lines[2].second, "quantize: GPTQ_CALIBRATION_CHUNK_WINDOWS=3: all 2 windows of 2048 tokens at once");
  }
  {
    const ChunkWindowsVariable bad("many");
    Logged l;
    EXPECT_THROW((void)plan_calibration_chunks(l7, cfg, 8, 2048, cpu, &host, l.log), Error);
  }
}

}  // namespace
}  // namespace gptq::quant
