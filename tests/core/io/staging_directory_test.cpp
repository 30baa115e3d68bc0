// StagingDirectory: a directory appears complete or not at all.
#include <gtest/gtest.h>

#include <fstream>

#include "core/io/staging_directory.h"
#include "tests/core/io/io_test_support.h"

namespace gptq::io {
namespace {

using testing::TempDir;

TEST(StagingDirectory, CommitMovesItIntoPlace) {
  TempDir tmp;
  {
    StagingDirectory s(tmp / "out", false);
    EXPECT_EQ(s.path().parent_path(), tmp.path());
    EXPECT_NE(s.path().filename().string().find("out.tmp-"), std::string::npos);
    std::ofstream(s.path() / "a") << "a";
    EXPECT_FALSE(std::filesystem::exists(tmp / "out"));
    s.commit();
    EXPECT_TRUE(s.committed());
  }
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"out"});
  EXPECT_TRUE(std::filesystem::exists(tmp / "out" / "a"));
  // Readable by others, like the files AtomicFile writes.
  EXPECT_EQ(std::filesystem::status(tmp / "out").permissions(), std::filesystem::perms(0755));
}

TEST(StagingDirectory, DestroyedUncommittedLeavesNothing) {
  TempDir tmp;
  {
    StagingDirectory s(tmp / "out", false);
    std::filesystem::create_directories(s.path() / "sub");
    std::ofstream(s.path() / "sub" / "f") << "x";
  }
  EXPECT_TRUE(tmp.entries().empty());
}

TEST(StagingDirectory, TargetCreatedMeanwhileIsNotClobbered) {
  TempDir tmp;
  StagingDirectory s(tmp / "out", false);
  std::filesystem::create_directories(tmp / "out");  // empty: plain rename() would replace it
  EXPECT_GPTQ_ERROR(s.commit(), Status::InvalidArgument, {"appeared"});
  EXPECT_TRUE(std::filesystem::is_directory(tmp / "out"));
}

TEST(StagingDirectory, OverwriteSwapsAndRemovesTheOld) {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "out");
  std::ofstream(tmp / "out" / "old") << "old";
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "out", false), Status::InvalidArgument, {"already exists"});
  {
    StagingDirectory s(tmp / "out/", true);  // a trailing slash names the same directory
    std::ofstream(s.path() / "new") << "new";
    s.commit();
  }
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"out"});
  EXPECT_TRUE(std::filesystem::exists(tmp / "out" / "new"));
  EXPECT_FALSE(std::filesystem::exists(tmp / "out" / "old"));
}

TEST(StagingDirectory, MissingParentIsAnIoError) {
  TempDir tmp;
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "no" / "out", false), Status::Io, {"parent"});
}

}  // namespace
}  // namespace gptq::io
