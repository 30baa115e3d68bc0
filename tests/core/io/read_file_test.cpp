#include "core/io/read_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "tests/core/io/io_test_support.h"

namespace gptq::io {
namespace {

using gptq::testing::TempDir;

TEST(ReadTextFile, ReadsWholeFile) {
  TempDir dir;
  gptq::testing::write_bytes(dir / "a.json", "{\"x\": 1}");
  EXPECT_EQ(read_text_file(dir / "a.json", 100), "{\"x\": 1}");
}

TEST(ReadTextFile, ReadsAFifoToItsEnd) {
  TempDir dir;
  const auto fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string text(200000, 'x');  // more than one pipe buffer
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << text; });
  EXPECT_EQ(read_text_file(fifo, 1 << 20), text);
  writer.join();
  std::signal(SIGPIPE, SIG_IGN);  // the reader gives up early; the writer must not die of it
  std::thread again([&] { std::ofstream(fifo, std::ios::binary) << text; });
  EXPECT_GPTQ_ERROR(read_text_file(fifo, 1000), Status::Format, {"pipe", "1000"});
  again.join();
}

TEST(ReadTextFile, Errors) {
  TempDir dir;
  EXPECT_GPTQ_ERROR(read_text_file(dir / "none.json", 100), Status::Io, {"none.json", "does not exist"});
  // A path that is there but is not a file says what it is, not that it is missing.
  EXPECT_GPTQ_ERROR(read_text_file(dir.path(), 100), Status::Io, {"is a directory, not a regular file"});
  EXPECT_GPTQ_ERROR(read_text_file("", 100), Status::InvalidArgument, {"empty path"});
  gptq::testing::write_bytes(dir / "file", "x");
  EXPECT_GPTQ_ERROR(read_text_file(dir / "file" / "below", 100), Status::Io, {"cannot access", "Not a directory"});
  gptq::testing::write_bytes(dir / "big.json", std::string(200, ' '));
  EXPECT_GPTQ_ERROR(read_text_file(dir / "big.json", 100), Status::Format, {"big.json", "200"});
}

}  // namespace
}  // namespace gptq::io
