#include "core/io/safetensors_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>

#include "tests/core/io/io_test_support.h"
#include "tests/support/shared_data.h"

namespace gptq::io {
namespace {

using gptq::testing::safetensors_bytes;
using gptq::testing::TempDir;
using gptq::testing::write_bytes;

std::span<const std::byte> as_span(const std::string &s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// Writes `bytes` to a file named `name` in a fresh temp dir and opens it; the
// expectations then check status and message (which must name the file).
class CorruptFile : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string &bytes, const std::string &name = "bad.safetensors") {
    const auto path = dir_ / name;
    write_bytes(path, bytes);
    return path;
  }
  TempDir dir_;
};

TEST(SafetensorsReader, ParsesAValidFileFromMemory) {
  const std::string bytes = safetensors_bytes(
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"I32","shape":[2],"data_offsets":[12,20]},)"
      R"("a":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"e":{"dtype":"F32","shape":[0,4],"data_offsets":[20,20]}})",
      20);
  const SafetensorsFile file = SafetensorsFile::from_memory(as_span(bytes), "mem");
  ASSERT_EQ(file.entries().size(), 3u);
  EXPECT_EQ(file.entries()[0].name, "a");  // data order
  EXPECT_EQ(file.metadata().at("format"), "pt");
  const TensorView a = file.tensor("a");
  EXPECT_EQ(a.dtype, DType::F16);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(a.numel(), 6);
  EXPECT_EQ(a.data.size(), 12u);
  // Zero-copy: the view points into the caller's bytes.
  EXPECT_EQ(reinterpret_cast<const char *>(a.data.data()), bytes.data() + file.data_offset());
  EXPECT_EQ(file.tensor("b").data.size(), 8u);
  EXPECT_EQ(file.tensor("e").numel(), 0);
  EXPECT_FALSE(file.find("zzz").has_value());
  EXPECT_GPTQ_ERROR(file.tensor("zzz"), Status::Format, {"mem", "'zzz'"});
}

TEST(SafetensorsReader, AcceptsAnEmptyFile) {
  const std::string bytes = safetensors_bytes("{}", 0);
  EXPECT_TRUE(SafetensorsFile::from_memory(as_span(bytes), "mem").entries().empty());
}

TEST(SafetensorsReader, MapsARealShard) {
  GPTQ_REQUIRE_SHARED(path, "models/docs-llama-16m/model-00003-of-00003.safetensors");
  const SafetensorsFile file = SafetensorsFile::open(path);
  const TensorView t = file.tensor("lm_head.weight");
  EXPECT_EQ(t.dtype, DType::F16);
  EXPECT_EQ(t.shape, (std::vector<std::int64_t>{8192, 384}));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data.data()) % 8, 0u);
}

// Resident file-backed memory of this process (RssFile), in bytes.
std::int64_t rss_file_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("RssFile:", 0) == 0) return std::stoll(line.substr(8)) * 1024;
  return -1;
}

TEST(SafetensorsReader, ReleaseDropsATensorsPagesAndKeepsItsView) {
  constexpr std::size_t kBytes = 16 << 20;
  const std::string header = R"({"t":{"dtype":"U8","shape":[)" + std::to_string(kBytes) + R"(],"data_offsets":[0,)" +
                             std::to_string(kBytes) + "]}}";
  TempDir dir;
  write_bytes(dir.path() / "big.safetensors", safetensors_bytes(header, kBytes));
  const SafetensorsFile file = SafetensorsFile::open(dir.path() / "big.safetensors");
  const TensorView t = file.tensor("t");
  auto checksum = [&] {
    std::uint64_t sum = 0;
    for (std::byte b : t.data) sum = sum * 31 + static_cast<std::uint8_t>(b);
    return sum;
  };
  const std::uint64_t before = checksum();  // every page of the tensor is now resident
  const std::int64_t touched = rss_file_bytes();
  file.release("t");
  const std::int64_t released = rss_file_bytes();
  ASSERT_GE(touched, 0) << "no RssFile in /proc/self/status";
  EXPECT_GT(touched - released, static_cast<std::int64_t>(kBytes) * 3 / 4) << touched << " -> " << released;
  EXPECT_EQ(checksum(), before);  // read again from the file
  file.release("no such tensor");  // ignored
}

TEST(SafetensorsReader, ReleaseLeavesCallerMemoryAlone) {
  const std::string bytes = safetensors_bytes(R"({"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 4);
  const SafetensorsFile file = SafetensorsFile::from_memory(as_span(bytes), "mem");
  file.release("t");
  EXPECT_EQ(std::to_integer<int>(file.tensor("t").data[3]), static_cast<int>(bytes[bytes.size() - 1]));
}

// The fuzz seeds are written by Python's json module (scripts/make-fuzz-corpus.sh):
// the valid ones must parse, the deliberately corrupt ones must not.
TEST(SafetensorsReader, ParsesTheFuzzSeedsWrittenByPython) {
  const auto dir = gptq::testing::source_dir() / "tests/fuzz/corpus/safetensors_header";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int valid = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool corrupt = name.starts_with("overlap") || name.starts_with("gap") ||
                         name.starts_with("duplicate") || name.starts_with("length-past-end");
    if (corrupt) {
      EXPECT_THROW(SafetensorsFile::open(entry.path()), gptq::Error) << name;
    } else {
      EXPECT_NO_THROW(SafetensorsFile::open(entry.path())) << name;
      ++valid;
    }
  }
  EXPECT_GE(valid, 5);
}

TEST_F(CorruptFile, MissingFileIsIo) {
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(dir_ / "absent.safetensors"), Status::Io,
                    {"absent.safetensors"});
}

TEST_F(CorruptFile, DirectoryIsIo) {
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(dir_.path()), Status::Io, {dir_.path().string()});
}

TEST_F(CorruptFile, Truncated) {
  const auto path = write(std::string("\x10\x00\x00", 3));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "too short"});
}

TEST_F(CorruptFile, TruncatedData) {
  // The header promises 8 data bytes; the file stops after 4.
  const auto path = write(
      safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "past the end"});
}

TEST_F(CorruptFile, HeaderLengthPastEnd) {
  const auto path = write(safetensors_bytes("{}", 0, 1000));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "1000", "past the end"});
}

TEST_F(CorruptFile, HeaderLengthHuge) {
  const auto path = write(safetensors_bytes("{}", 0, std::uint64_t{1} << 40));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "exceeds the limit"});
}

TEST_F(CorruptFile, HeaderLengthAllOnes) {
  const auto path = write(safetensors_bytes("{}", 0, ~std::uint64_t{0}));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "exceeds the limit"});
}

TEST_F(CorruptFile, InvalidJson) {
  const auto path = write(safetensors_bytes(R"({"w": {"dtype": )", 0));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "invalid JSON at byte"});
}

TEST_F(CorruptFile, JsonNotAnObject) {
  const auto path = write(safetensors_bytes("[1, 2, 3]", 0));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "expected a JSON object"});
}

TEST_F(CorruptFile, EntryNotAnObject) {
  const auto path = write(safetensors_bytes(R"({"w": 5})", 0));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "expected an object"});
}

TEST_F(CorruptFile, MissingField) {
  const auto path = write(safetensors_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "'shape'"});
}

TEST_F(CorruptFile, DtypeNotAString) {
  const auto path = write(safetensors_bytes(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "'dtype'"});
}

TEST_F(CorruptFile, UnknownDtype) {
  const auto path = write(safetensors_bytes(R"({"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}})", 4));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "unknown dtype 'F17'"});
}

TEST_F(CorruptFile, UnsupportedDtype) {
  const auto path = write(safetensors_bytes(R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", 4));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Unsupported, {path.string(), "'w'", "F8_E4M3"});
}

TEST_F(CorruptFile, NegativeDim) {
  const auto path = write(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "shape[0] is -1"});
}

TEST_F(CorruptFile, FractionalDim) {
  const auto path = write(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "shape[0]"});
}

TEST_F(CorruptFile, OffsetsNotAPair) {
  const auto path = write(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "data_offsets"});
}

TEST_F(CorruptFile, OffsetsReversed) {
  const auto path = write(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", 4));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "end before"});
}

TEST_F(CorruptFile, OffsetPastEnd) {
  const auto path = write(safetensors_bytes(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 6));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'b'", "past the end"});
}

TEST_F(CorruptFile, OffsetsOverlap) {
  const auto path = write(safetensors_bytes(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'b'", "overlap", "'a'"});
}

TEST_F(CorruptFile, SameOffsetsTwice) {
  const auto path = write(safetensors_bytes(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "overlap"});
}

TEST_F(CorruptFile, Gap) {
  const auto path = write(safetensors_bytes(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'b'", "gap", "[4, 8)"});
}

TEST_F(CorruptFile, GapAtStart) {
  const auto path = write(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'a'", "gap"});
}

TEST_F(CorruptFile, TrailingBytes) {
  const auto path = write(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 9));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "[4, 9)", "'a'"});
}

TEST_F(CorruptFile, WrongDtypeSize) {
  // F32 [3] needs 12 bytes; the offsets give 6 (what F16 would need).
  const auto path = write(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,6]}})", 6));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "hold 6 bytes", "needs 12"});
}

TEST_F(CorruptFile, ShapeOverflow) {
  const auto path = write(safetensors_bytes(
      R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "overflow"});
}

TEST_F(CorruptFile, ShapeOverflowWrapsToMatch) {
  // 2^62 x 4 bytes wraps to 0 in 64 bits; must be caught, not read as "0 bytes".
  const auto path = write(safetensors_bytes(
      R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "'w'", "overflow"});
}

TEST_F(CorruptFile, DuplicateNames) {
  const auto path = write(safetensors_bytes(
      R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "duplicate key 'w'"});
}

TEST_F(CorruptFile, DuplicateFieldInEntry) {
  const auto path = write(safetensors_bytes(
      R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", 4));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "duplicate key 'dtype'", "'w'"});
}

TEST_F(CorruptFile, MetadataNotStrings) {
  const auto path = write(safetensors_bytes(R"({"__metadata__":{"n":1}})", 0));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "__metadata__", "'n'"});
}

TEST_F(CorruptFile, DeepNesting) {
  const auto path = write(safetensors_bytes(std::string(5000, '[') + std::string(5000, ']'), 0));
  EXPECT_GPTQ_ERROR(SafetensorsFile::open(path), Status::Format, {path.string(), "nests deeper"});
}

}  // namespace
}  // namespace gptq::io
