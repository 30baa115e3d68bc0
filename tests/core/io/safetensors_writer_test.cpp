#include "core/io/safetensors_writer.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "core/io/safetensors_reader.h"
#include "core/io/sharded_checkpoint.h"
#include "tests/core/io/io_test_support.h"

namespace gptq::io {
namespace {

using gptq::testing::TempDir;

constexpr DType kAllDtypes[] = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64,
                                DType::I32, DType::I8,  DType::U8,   DType::Bool};

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 31 + seed * 17) & 0xff);
  return out;
}

std::string read_all(const std::filesystem::path &p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A fill callback producing pattern(size, seed) chunk by chunk.
auto fill_with_pattern(std::size_t size, unsigned seed) {
  return [size, seed](std::span<std::byte> chunk, std::uint64_t offset) {
    const std::vector<std::byte> all = pattern(size, seed);
    ASSERT_LE(offset + chunk.size(), all.size());
    std::copy_n(all.begin() + static_cast<std::ptrdiff_t>(offset), chunk.size(), chunk.begin());
  };
}

TEST(SafetensorsWriter, RoundTripsEveryDtype) {
  TempDir dir;
  std::vector<std::vector<std::byte>> buffers;
  std::vector<TensorSource> sources;
  unsigned seed = 0;
  for (DType dtype : kAllDtypes) {
    const std::size_t bytes = 3 * 5 * dtype_size(dtype);
    buffers.push_back(pattern(bytes, seed));
    TensorSource from_span{"span." + std::string(dtype_name(dtype)), dtype, {3, 5}, buffers.back(), {}};
    TensorSource from_fill{"fill." + std::string(dtype_name(dtype)), dtype, {3, 5}, {},
                           fill_with_pattern(bytes, seed)};
    sources.push_back(std::move(from_span));
    sources.push_back(std::move(from_fill));
    ++seed;
  }
  sources.push_back({"empty", DType::F16, {0, 7}, {}, {}});
  sources.push_back({"scalar", DType::I64, {}, {}, fill_with_pattern(8, 99)});

  SafetensorsWriteOptions options;
  options.metadata = {{"format", "pt"}, {"quote\"d", "\u00e9"}};
  options.fill_chunk_bytes = 7;  // odd chunks, so a fill is called several times per tensor
  write_safetensors(dir / "t.safetensors", sources, options);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"t.safetensors"}));

  const SafetensorsFile file = SafetensorsFile::open(dir / "t.safetensors");
  EXPECT_EQ(file.data_offset() % 8, 0u);  // header padded as the Python package pads it
  EXPECT_EQ(file.metadata(), options.metadata);
  ASSERT_EQ(file.entries().size(), sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    EXPECT_EQ(file.entries()[i].name, sources[i].name);  // data in the order given
    const TensorView t = file.tensor(sources[i].name);
    EXPECT_EQ(t.dtype, sources[i].dtype) << t.name;
    EXPECT_EQ(t.shape, sources[i].shape) << t.name;
  }
  seed = 0;
  for (DType dtype : kAllDtypes) {
    const auto want = pattern(3 * 5 * dtype_size(dtype), seed++);
    for (const char *how : {"span.", "fill."}) {
      const TensorView t = file.tensor(how + std::string(dtype_name(dtype)));
      EXPECT_TRUE(std::equal(t.data.begin(), t.data.end(), want.begin(), want.end())) << t.name;
    }
  }
  EXPECT_EQ(file.tensor("empty").data.size(), 0u);
  const auto scalar = pattern(8, 99);
  EXPECT_TRUE(std::equal(file.tensor("scalar").data.begin(), file.tensor("scalar").data.end(),
                         scalar.begin(), scalar.end()));
}

TEST(SafetensorsWriter, HeaderBytesMatchThePythonLayout) {
  TempDir dir;
  const std::vector<std::byte> data = pattern(8, 1);
  const TensorSource t{"a", DType::F32, {2}, data, {}};
  write_safetensors(dir / "a.safetensors", std::span(&t, 1));
  const std::string bytes = read_all(dir / "a.safetensors");
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::size_t padded = (json.size() + 7) / 8 * 8;
  ASSERT_EQ(bytes.size(), 8 + padded + 8);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), padded);
  EXPECT_EQ(bytes.substr(8, padded), json + std::string(padded - json.size(), ' '));
}

std::vector<TensorSource> ten_tensors(std::vector<std::vector<std::byte>> &buffers) {
  std::vector<TensorSource> out;
  for (unsigned i = 0; i < 10; ++i) {
    buffers.push_back(pattern(100, i));
    out.push_back({"layers." + std::to_string(i) + ".w", DType::U8, {10, 10}, buffers.back(), {}});
  }
  return out;
}

TEST(SafetensorsWriter, ShardsWithAnIndex) {
  TempDir dir;
  std::vector<std::vector<std::byte>> buffers;
  const auto sources = ten_tensors(buffers);
  SafetensorsWriteOptions options;
  options.max_shard_bytes = 250;  // two 100-byte tensors per shard
  const auto written = write_safetensors_checkpoint(dir.path(), sources, options);
  EXPECT_EQ(written, (std::vector<std::string>{
                         "model-00001-of-00005.safetensors", "model-00002-of-00005.safetensors",
                         "model-00003-of-00005.safetensors", "model-00004-of-00005.safetensors",
                         "model-00005-of-00005.safetensors", "model.safetensors.index.json"}));
  auto sorted = written;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(dir.entries(), sorted);  // no temporaries left

  const ShardedCheckpoint ckpt = ShardedCheckpoint::open(dir.path());
  EXPECT_EQ(ckpt.shard_count(), 5u);
  EXPECT_EQ(ckpt.total_size(), 1000u);
  EXPECT_EQ(ckpt.shard_of("layers.0.w"), "model-00001-of-00005.safetensors");
  EXPECT_EQ(ckpt.shard_of("layers.9.w"), "model-00005-of-00005.safetensors");
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const TensorView t = ckpt.tensor(sources[i].name);
    EXPECT_TRUE(std::equal(t.data.begin(), t.data.end(), buffers[i].begin(), buffers[i].end()));
  }
  EXPECT_NE(read_all(dir / "model.safetensors.index.json").find("\"total_size\": 1000"),
            std::string::npos);
}

TEST(SafetensorsWriter, SingleFileWhenItFits) {
  TempDir dir;
  std::vector<std::vector<std::byte>> buffers;
  SafetensorsWriteOptions options;
  options.max_shard_bytes = 1000;
  EXPECT_EQ(write_safetensors_checkpoint(dir.path(), ten_tensors(buffers), options),
            (std::vector<std::string>{"model.safetensors"}));
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"model.safetensors"}));
  EXPECT_EQ(ShardedCheckpoint::open(dir.path()).tensor_names().size(), 10u);
}

TEST(SafetensorsWriter, OversizedTensorGetsItsOwnShard) {
  TempDir dir;
  const auto small = pattern(10, 0), big = pattern(500, 1);
  const std::vector<TensorSource> sources = {{"a", DType::U8, {10}, small, {}},
                                             {"b", DType::U8, {500}, big, {}},
                                             {"c", DType::U8, {10}, small, {}}};
  SafetensorsWriteOptions options;
  options.max_shard_bytes = 100;
  EXPECT_EQ(write_safetensors_checkpoint(dir.path(), sources, options).size(), 4u);
  const ShardedCheckpoint ckpt = ShardedCheckpoint::open(dir.path());
  EXPECT_EQ(ckpt.shard_of("b"), "model-00002-of-00003.safetensors");
}

TEST(SafetensorsWriter, ThrowingFillLeavesNothing) {
  TempDir dir;
  std::vector<std::vector<std::byte>> buffers;
  auto sources = ten_tensors(buffers);
  sources[7].data = {};
  sources[7].fill = [](std::span<std::byte>, std::uint64_t) {
    throw std::runtime_error("producer failed");
  };
  SafetensorsWriteOptions options;
  options.max_shard_bytes = 250;
  EXPECT_THROW(write_safetensors_checkpoint(dir.path(), sources, options), std::runtime_error);
  EXPECT_TRUE(dir.entries().empty());
  EXPECT_THROW(write_safetensors(dir / "one.safetensors", sources), std::runtime_error);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(SafetensorsWriter, UnwritableDirectoryIsIo) {
  TempDir dir;
  std::vector<std::vector<std::byte>> buffers;
  EXPECT_GPTQ_ERROR(write_safetensors_checkpoint(dir / "missing", ten_tensors(buffers)),
                    Status::Io, {"missing"});
  EXPECT_TRUE(dir.entries().empty());
}

// Restores the file size limit and SIGXFSZ disposition at the end of a test.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of dying
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = nullptr;
};

TEST(SafetensorsWriter, WriteErrorMidwayLeavesNothing) {
  TempDir dir;
  const auto big = pattern(64 * 1024, 3);
  const std::vector<TensorSource> sources = {{"a", DType::U8, {1024}, std::span(big).first(1024), {}},
                                             {"b", DType::U8, {65536}, big, {}}};
  SafetensorsWriteOptions options;
  options.max_shard_bytes = 2048;
  {
    const FileSizeLimit limit(16 * 1024);  // the second shard cannot be written
    EXPECT_GPTQ_ERROR(write_safetensors_checkpoint(dir.path(), sources, options), Status::Io,
                      {"model-00002-of-00002.safetensors", "write failed"});
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(SafetensorsWriter, RejectsBadSourcesBeforeWriting) {
  TempDir dir;
  const auto four = pattern(4, 0);
  const auto f = dir / "x.safetensors";
  auto one = [](TensorSource t) { return std::vector<TensorSource>{std::move(t)}; };
  EXPECT_GPTQ_ERROR(write_safetensors(f, one({"w", DType::F32, {2}, four, {}})),
                    Status::InvalidArgument, {"'w'", "needs 8"});
  EXPECT_GPTQ_ERROR(write_safetensors(f, one({"w", DType::F32, {-1}, {}, {}})),
                    Status::InvalidArgument, {"'w'", "negative"});
  EXPECT_GPTQ_ERROR(write_safetensors(f, one({"__metadata__", DType::U8, {4}, four, {}})),
                    Status::InvalidArgument, {"reserved"});
  EXPECT_GPTQ_ERROR(write_safetensors(f, one({"", DType::U8, {4}, four, {}})),
                    Status::InvalidArgument, {"empty name"});
  EXPECT_GPTQ_ERROR(
      write_safetensors(f, one({"w", DType::U8, {4}, four, [](std::span<std::byte>, std::uint64_t) {}})),
      Status::InvalidArgument, {"'w'", "not both"});
  const std::vector<TensorSource> dup = {{"w", DType::U8, {4}, four, {}}, {"w", DType::U8, {4}, four, {}}};
  EXPECT_GPTQ_ERROR(write_safetensors(f, dup), Status::InvalidArgument, {"'w'", "duplicate"});
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace gptq::io
