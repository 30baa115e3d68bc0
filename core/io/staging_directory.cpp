#include "core/io/staging_directory.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2 (glibc >= 2.28)
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "core/io/atomic_file.h"

namespace gptq::io {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

std::filesystem::path parent_or_dot(const std::filesystem::path &p) {
  return p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
}

// rename(2) with flags; falls back to plain rename semantics the caller
// emulates when the file system does not know the flag (EINVAL/ENOSYS).
int rename_with(const std::filesystem::path &from, const std::filesystem::path &to,
                unsigned flags) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0 ? 0 : errno;
}

bool flag_unsupported(int e) { return e == EINVAL || e == ENOSYS || e == ENOTSUP; }

}  // namespace

StagingDirectory::StagingDirectory(std::filesystem::path target, bool overwrite)
    : target_(std::move(target)), overwrite_(overwrite) {
  while (!target_.empty() && !target_.has_filename()) target_ = target_.parent_path();  // "out/"
  if (target_.empty())
    fail(Status::InvalidArgument, "output directory: an empty path was given");
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(target_, ec);
  if (std::filesystem::exists(status)) {
    if (!overwrite_)
      fail(Status::InvalidArgument, "output directory " + target_.string() +
                                        " already exists (ask to overwrite it to replace it)");
    if (!std::filesystem::is_directory(status))
      fail(Status::InvalidArgument, "output path " + target_.string() +
                                        " exists and is not a directory; refusing to replace it");
  }
  const std::filesystem::path parent = parent_or_dot(target_);
  if (!std::filesystem::is_directory(parent, ec))
    fail(Status::Io, "output directory " + target_.string() + ": its parent " + parent.string() +
                         " does not exist or is not a directory");
  std::string pattern = (parent / (target_.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!::mkdtemp(buffer.data()))
    fail(Status::Io, "output directory " + target_.string() + ": cannot create a staging directory in " +
                         parent.string() + ": " + errno_text(errno));
  staging_ = buffer.data();
  // mkdtemp makes 0700; a model directory is meant to be shared like the
  // files in it (AtomicFile uses 0644 for the same reason).
  ::chmod(staging_.c_str(), 0755);
}

StagingDirectory::~StagingDirectory() {
  if (committed_ || staging_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(staging_, ec);  // best effort: a destructor cannot report
}

void StagingDirectory::commit() {
  if (committed_) fail(Status::InvalidArgument, staging_.string() + ": committed twice");
  sync_directory(staging_);
  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::symlink_status(target_, ec));
  if (!exists || !overwrite_) {
    int e = rename_with(staging_, target_, RENAME_NOREPLACE);
    if (flag_unsupported(e)) {
      // No RENAME_NOREPLACE here: plain rename would replace an empty
      // directory, so check first (a small window, only on such systems).
      e = std::filesystem::exists(std::filesystem::symlink_status(target_, ec)) ? EEXIST : 0;
      if (e == 0 && ::rename(staging_.c_str(), target_.c_str()) != 0) e = errno;
    }
    if (e == EEXIST || e == ENOTEMPTY)
      fail(Status::InvalidArgument, "output directory " + target_.string() +
                                        " appeared while the checkpoint was written; not replacing it");
    if (e != 0)
      fail(Status::Io, "cannot rename " + staging_.string() + " to " + target_.string() + ": " +
                           errno_text(e));
  } else {
    // Swap in one step, so readers see the old or the new directory, never
    // none; the old one then sits at the staging name and is deleted.
    int e = rename_with(staging_, target_, RENAME_EXCHANGE);
    if (flag_unsupported(e)) {
      const std::filesystem::path old = staging_.string() + ".old";
      if (::rename(target_.c_str(), old.c_str()) != 0)
        fail(Status::Io, "cannot move the old " + target_.string() + " aside: " + errno_text(errno));
      if (::rename(staging_.c_str(), target_.c_str()) != 0) {
        const int r = errno;
        ::rename(old.c_str(), target_.c_str());  // put the old one back
        fail(Status::Io, "cannot rename " + staging_.string() + " to " + target_.string() + ": " +
                             errno_text(r));
      }
      committed_ = true;
      std::filesystem::remove_all(old, ec);
      sync_directory(parent_or_dot(target_));
      return;
    }
    if (e != 0)
      fail(Status::Io, "cannot replace " + target_.string() + " with " + staging_.string() + ": " +
                           errno_text(e));
    committed_ = true;
    std::filesystem::remove_all(staging_, ec);  // the old directory, now under the staging name
    sync_directory(parent_or_dot(target_));
    return;
  }
  committed_ = true;
  sync_directory(parent_or_dot(target_));
}

}  // namespace gptq::io
