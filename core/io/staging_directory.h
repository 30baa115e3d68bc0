// Writing a whole directory atomically: build it under a temporary name
// beside the target ("<target>.tmp-XXXXXX", same parent, so the final rename
// stays on one file system), then rename it into place in one step. Until
// commit() the staging directory is removed on destruction, so a failure, an
// exception or a cancellation leaves nothing behind.
#pragma once

#include <filesystem>

namespace gptq::io {

class StagingDirectory {
 public:
  // Creates the staging directory. When `overwrite` is false an existing
  // target is refused now (InvalidArgument naming it), before any work is
  // done; when true, an existing target must be a directory and is replaced
  // only by commit(). Throws Io when the parent is missing or not writable.
  StagingDirectory(std::filesystem::path target, bool overwrite);
  StagingDirectory(const StagingDirectory &) = delete;
  StagingDirectory &operator=(const StagingDirectory &) = delete;
  ~StagingDirectory();

  const std::filesystem::path &path() const noexcept { return staging_; }
  const std::filesystem::path &target() const noexcept { return target_; }

  // fsyncs the staging directory, then moves it to the target: with
  // RENAME_NOREPLACE when not overwriting (a target created meanwhile is an
  // error, not clobbered), or by atomically exchanging it with the old target
  // and then deleting the old one. Files inside must already be synced. The
  // parent directory is fsynced afterwards.
  void commit();
  bool committed() const noexcept { return committed_; }

 private:
  std::filesystem::path target_;
  std::filesystem::path staging_;
  bool overwrite_;
  bool committed_ = false;
};

}  // namespace gptq::io
