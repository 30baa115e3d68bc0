// StagingDirectory: a directory appears complete or not at all.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

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

// Accepts any directory holding only a file named "ours" (the checkpoint
// writer's real rule is tested with the writer).
std::optional<std::string> only_ours(const std::filesystem::path &dir) {
  for (const auto &e : std::filesystem::directory_iterator(dir))
    if (e.path().filename() != "ours") return "it holds " + e.path().filename().string();
  return std::nullopt;
}

StagingOptions replacing(std::vector<StagingOptions::Input> inputs = {}) {
  StagingOptions o;
  o.overwrite = true;
  o.why_not_replaceable = only_ours;
  o.inputs = std::move(inputs);
  return o;
}

TEST(StagingDirectory, OverwriteSwapsAndRemovesTheOld) {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "out");
  std::ofstream(tmp / "out" / "ours") << "old";
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "out", false), Status::InvalidArgument, {"already exists"});
  {
    StagingDirectory s(tmp / "out/", replacing());  // a trailing slash names the same directory
    std::ofstream(s.path() / "new") << "new";
    s.commit();
  }
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"out"});
  EXPECT_TRUE(std::filesystem::exists(tmp / "out" / "new"));
  EXPECT_FALSE(std::filesystem::exists(tmp / "out" / "ours"));
  EXPECT_FALSE(std::filesystem::exists(tmp / "out" / kStagingLockName));  // never part of the result
}

TEST(StagingDirectory, OverwriteReplacesOnlyWhatItMay) {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "out");
  std::ofstream(tmp / "out" / "notes.txt") << "mine";
  // No rule given: only an empty directory is replaced.
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "out", true), Status::InvalidArgument, {"out", "not empty"});
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "out", replacing()), Status::InvalidArgument,
                    {"refusing to replace", "notes.txt"});
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"out"});  // nothing staged, nothing touched
  std::filesystem::remove(tmp / "out" / "notes.txt");
  StagingDirectory(tmp / "out", true).commit();  // empty: replaced
  // Checked again at commit: a file that appears meanwhile keeps the old directory.
  StagingDirectory s(tmp / "out", replacing());
  std::ofstream(tmp / "out" / "late.txt") << "mine";
  EXPECT_GPTQ_ERROR(s.commit(), Status::InvalidArgument, {"late.txt"});
  EXPECT_TRUE(std::filesystem::exists(tmp / "out" / "late.txt"));
}

TEST(StagingDirectory, RefusesRootInputsAndTheWorkingDirectory) {
  TempDir tmp;
  EXPECT_GPTQ_ERROR(StagingDirectory("/", replacing()), Status::InvalidArgument, {"root directory"});
  EXPECT_GPTQ_ERROR(StagingDirectory("//", replacing()), Status::InvalidArgument, {"root directory"});
  EXPECT_GPTQ_ERROR(StagingDirectory("", replacing()), Status::InvalidArgument, {"empty path"});
  std::filesystem::create_directories(tmp / "parent" / "model");
  const std::vector<StagingOptions::Input> model = {{tmp / "parent" / "model", "the model"}};
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "parent", replacing(model)), Status::InvalidArgument,
                    {"contains the model"});
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "parent" / "model", replacing(model)), Status::InvalidArgument,
                    {"is the model"});
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "parent" / "model" / "q", replacing(model)), Status::InvalidArgument,
                    {"lies inside the model"});
  // The same through a symbolic link and through "..".
  std::filesystem::create_directory_symlink(tmp / "parent", tmp / "link");
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "link", replacing(model)), Status::InvalidArgument, {"contains the model"});
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "parent" / "model" / "..", replacing(model)), Status::InvalidArgument,
                    {"contains the model"});
  // A directory holding the working directory is never swapped away.
  std::filesystem::create_directories(tmp / "work" / "sub");
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(tmp / "work" / "sub");
  StagingOptions any = replacing();
  any.why_not_replaceable = [](const std::filesystem::path &) { return std::nullopt; };
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "work", any), Status::InvalidArgument, {"working directory"});
  EXPECT_GPTQ_ERROR(StagingDirectory(".", any), Status::InvalidArgument, {"working directory"});
  EXPECT_GPTQ_ERROR(StagingDirectory("..", any), Status::InvalidArgument, {"working directory"});
  std::filesystem::current_path(cwd);
  EXPECT_TRUE(std::filesystem::is_directory(tmp / "work" / "sub"));
}

// A staging directory as a run killed with SIGKILL leaves it: lock file
// written, lock released by the kernel.
std::filesystem::path stale_staging(const TempDir &tmp, const std::string &name) {
  const auto dir = tmp / ("out.tmp-" + name);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / kStagingLockName) << "pid 1 on host gone\n";
  std::ofstream(dir / ".model.safetensors.tmp.AbCdEf") << "half a shard";
  return dir;
}

TEST(StagingDirectory, RemovesTheStagingOfDeadRunsAndLeavesLiveOnes) {
  TempDir tmp;
  const auto dead = stale_staging(tmp, "Dead01");
  const auto live = stale_staging(tmp, "Live01");
  const int held = ::open((live / kStagingLockName).c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0);  // as its running owner holds it
  std::filesystem::create_directories(tmp / "out.tmp-NoLock");
  std::filesystem::create_directories(tmp / "other.tmp-Dead02");  // another target's: not looked at
  std::ofstream(tmp / "other.tmp-Dead02" / kStagingLockName) << "pid 1\n";
  std::vector<std::string> notices;
  StagingOptions o;
  o.notice = [&](const std::string &m) { notices.push_back(m); };
  {
    StagingDirectory s(tmp / "out", o);
    s.commit();
  }
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(live / ".model.safetensors.tmp.AbCdEf"));
  EXPECT_TRUE(std::filesystem::exists(tmp / "out.tmp-NoLock"));
  EXPECT_TRUE(std::filesystem::exists(tmp / "other.tmp-Dead02"));
  std::string all;
  for (const auto &n : notices) all += n + "\n";
  EXPECT_NE(all.find("removed " + dead.string()), std::string::npos) << all;
  EXPECT_NE(all.find("pid 1 on host gone"), std::string::npos) << all;
  EXPECT_NE(all.find("left " + live.string() + " in place: a live process"), std::string::npos) << all;
  EXPECT_NE(all.find("out.tmp-NoLock in place: it holds no libgptq lock file"), std::string::npos) << all;
  ::close(held);
}

TEST(StagingDirectory, ItsOwnLockIsHeldUntilItIsGone) {
  TempDir tmp;
  StagingDirectory s(tmp / "out", false);
  const int fd = ::open((s.path() / kStagingLockName).c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_NE(::flock(fd, LOCK_EX | LOCK_NB), 0);  // a sweeper would see a live run
  ::close(fd);
}

TEST(StagingDirectory, MissingParentIsAnIoError) {
  TempDir tmp;
  EXPECT_GPTQ_ERROR(StagingDirectory(tmp / "no" / "out", false), Status::Io, {"parent"});
}

}  // namespace
}  // namespace gptq::io
