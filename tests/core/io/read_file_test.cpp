#include "core/io/read_file.h"

#include <gtest/gtest.h>

#include "tests/core/io/io_test_support.h"

namespace gptq::io {
namespace {

using gptq::testing::TempDir;

TEST(ReadTextFile, ReadsWholeFile) {
  TempDir dir;
  gptq::testing::write_bytes(dir / "a.json", "{\"x\": 1}");
  EXPECT_EQ(read_text_file(dir / "a.json", 100), "{\"x\": 1}");
}

TEST(ReadTextFile, Errors) {
  TempDir dir;
  EXPECT_GPTQ_ERROR(read_text_file(dir / "none.json", 100), Status::Io, {"none.json"});
  EXPECT_GPTQ_ERROR(read_text_file(dir.path(), 100), Status::Io, {"not a regular file"});
  gptq::testing::write_bytes(dir / "big.json", std::string(200, ' '));
  EXPECT_GPTQ_ERROR(read_text_file(dir / "big.json", 100), Status::Format, {"big.json", "200"});
}

}  // namespace
}  // namespace gptq::io
