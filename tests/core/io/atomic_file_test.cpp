#include "core/io/atomic_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/core/io/io_test_support.h"

namespace gptq::io {
namespace {

using gptq::testing::TempDir;

std::string read_all(const std::filesystem::path &p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(AtomicFile, CommitPublishesTheContents) {
  TempDir dir;
  {
    AtomicFile f(dir / "config.json");
    f.write(std::string_view("{\"a\": "));
    f.write(std::string_view("1}"));
    EXPECT_EQ(f.bytes_written(), 8u);
    EXPECT_FALSE(std::filesystem::exists(dir / "config.json"));  // invisible until commit
    f.commit();
    EXPECT_TRUE(f.committed());
  }
  EXPECT_EQ(read_all(dir / "config.json"), "{\"a\": 1}");
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"config.json"}));
}

TEST(AtomicFile, ReplacesAnExistingFile) {
  TempDir dir;
  write_file_atomically(dir / "x", "old");
  write_file_atomically(dir / "x", "new contents");
  EXPECT_EQ(read_all(dir / "x"), "new contents");
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"x"}));
}

TEST(AtomicFile, WithoutCommitNothingIsLeft) {
  TempDir dir;
  {
    AtomicFile f(dir / "x");
    f.write(std::string_view("partial"));
    EXPECT_TRUE(std::filesystem::exists(f.temporary()));
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFile, ExceptionLeavesTheOldFile) {
  TempDir dir;
  write_file_atomically(dir / "x", "old");
  try {
    AtomicFile f(dir / "x");
    f.write(std::string_view("half"));
    throw std::runtime_error("caller failed");
  } catch (const std::runtime_error &) {
  }
  EXPECT_EQ(read_all(dir / "x"), "old");
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"x"}));
}

TEST(AtomicFile, MovedFileCleansUpOnce) {
  TempDir dir;
  {
    AtomicFile a(dir / "x");
    AtomicFile b(std::move(a));
    b.write(std::string_view("data"));
    b.commit();
  }
  EXPECT_EQ(read_all(dir / "x"), "data");
}

TEST(AtomicFile, UnwritableDirectoryIsIo) {
  TempDir dir;
  // A directory that does not exist (running as root, permissions would not stop us).
  EXPECT_GPTQ_ERROR(AtomicFile(dir / "missing" / "x"), Status::Io, {"missing"});
  gptq::testing::write_bytes(dir / "file", "");
  EXPECT_GPTQ_ERROR(AtomicFile(dir / "file" / "x"), Status::Io, {"file"});
}

TEST(AtomicFile, CommitTwiceIsAnError) {
  TempDir dir;
  AtomicFile f(dir / "x");
  f.commit();
  EXPECT_GPTQ_ERROR(f.commit(), Status::InvalidArgument, {"x"});
}

}  // namespace
}  // namespace gptq::io
