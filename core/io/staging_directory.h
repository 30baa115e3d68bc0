// Writing a whole directory atomically: build it under a temporary name
// beside the target ("<target>.tmp-XXXXXX", same parent, so the final rename
// stays on one file system), then rename it into place in one step. Until
// commit() the staging directory is removed on destruction, so a failure, an
// exception or a cancellation leaves nothing behind.
//
// A process killed outright (SIGKILL, power loss) cannot clean up, so each
// staging directory holds a lock file (kStagingLockName: the owner's pid and
// host) that its owner keeps flock()ed while it lives. The kernel drops that
// lock when the owner dies, however it dies; the next StagingDirectory for
// the same target removes every "<target>.tmp-XXXXXX" whose lock it can take,
// and leaves (and reports) those still locked — a live run's — and those
// without a lock file, which it cannot prove are a dead run's.
//
// Replacing is what loses data, so it is narrow: with `overwrite`, only an
// empty directory, or one the caller's `why_not_replaceable` accepts (the
// checkpoint writer accepts only a checkpoint it wrote itself), is replaced;
// never "/", a directory holding the working directory or one of `inputs`,
// nor a target lying inside an input. All of it is checked in the constructor,
// before any work, on paths with their symbolic links resolved; the target is
// checked again just before commit() replaces it.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gptq::io {

// The lock file inside a staging directory; never part of what commit() moves
// into place.
inline constexpr const char *kStagingLockName = ".libgptq-staging.lock";

struct StagingOptions {
  // Replace an existing target (only in commit(), once the new one is complete).
  bool overwrite = false;
  // With overwrite, for an existing non-empty target directory: why it must
  // not be replaced, or nullopt when it may be. Unset: only an empty directory
  // is replaced.
  std::function<std::optional<std::string>(const std::filesystem::path &)> why_not_replaceable;
  // Directories the work reads, each with what it is for messages (e.g. "the
  // source model"): the target must not be one, contain one, or lie inside one.
  struct Input {
    std::filesystem::path dir;
    std::string what;
  };
  std::vector<Input> inputs;
  // Receives what was done besides the job, one sentence each: stale staging
  // directories removed or left in place, an old target that could not be
  // wholly deleted after it was replaced. Unset: dropped.
  std::function<void(const std::string &)> notice;
};

class StagingDirectory {
 public:
  // Checks the target as described above (InvalidArgument naming it and
  // saying why; Io when the parent is missing, not a directory or not
  // writable), sweeps stale staging directories, then creates the staging
  // directory and its lock.
  StagingDirectory(std::filesystem::path target, StagingOptions options);
  StagingDirectory(std::filesystem::path target, bool overwrite)
      : StagingDirectory(std::move(target), StagingOptions{overwrite, {}, {}, {}}) {}
  StagingDirectory(const StagingDirectory &) = delete;
  StagingDirectory &operator=(const StagingDirectory &) = delete;
  ~StagingDirectory();

  const std::filesystem::path &path() const noexcept { return staging_; }
  // The target, its parent resolved to a canonical path.
  const std::filesystem::path &target() const noexcept { return target_; }

  // Removes the lock file, fsyncs the staging directory, then moves it to the
  // target: with RENAME_NOREPLACE when not overwriting (a target created
  // meanwhile is an error, not clobbered), or — after checking the old target
  // again — by atomically exchanging it with the old target and then deleting
  // the old one; what of it cannot be deleted stays under the staging name and
  // is reported through `notice` (the new directory is in place by then).
  // Files inside must already be synced. The parent directory is fsynced
  // afterwards.
  void commit();
  bool committed() const noexcept { return committed_; }

 private:
  void check_target() const;
  void check_replaceable() const;
  void sweep_stale() const;
  void lock();
  void note(const std::string &message) const;

  std::filesystem::path given_;   // as the caller wrote it, for messages
  std::filesystem::path target_;  // canonical parent / name
  std::filesystem::path staging_;
  StagingOptions options_;
  int lock_fd_ = -1;
  bool committed_ = false;
};

}  // namespace gptq::io
