#include "core/io/staging_directory.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2 (glibc >= 2.28)
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "core/base/error.h"
#include "core/io/atomic_file.h"
#include "core/io/file_kind.h"

namespace gptq::io {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

// rename(2) with flags; falls back to plain rename semantics the caller
// emulates when the file system does not know the flag (EINVAL/ENOSYS).
int rename_with(const std::filesystem::path &from, const std::filesystem::path &to,
                unsigned flags) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0 ? 0 : errno;
}

bool flag_unsupported(int e) { return e == EINVAL || e == ENOSYS || e == ENOTSUP; }

// Whether `inner` is `outer` or lies inside it; both canonical.
bool is_within(const std::filesystem::path &inner, const std::filesystem::path &outer) {
  auto o = outer.begin();
  for (auto i = inner.begin(); o != outer.end(); ++i, ++o)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

// The path with every symbolic link resolved, as far as it exists; empty when
// it cannot be resolved (then it cannot be compared, and is not).
std::filesystem::path resolved(const std::filesystem::path &p) {
  std::error_code ec;
  std::filesystem::path r = std::filesystem::weakly_canonical(std::filesystem::absolute(p, ec), ec);
  return ec ? std::filesystem::path() : r;
}

bool is_empty_directory(const std::filesystem::path &dir) {
  std::error_code ec;
  return std::filesystem::directory_iterator(dir, ec) == std::filesystem::directory_iterator() && !ec;
}

std::string owner_text() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return "pid " + std::to_string(::getpid()) + " on host " + (host[0] ? host.data() : "(unknown)");
}

// What a lock file says about its owner, for messages.
std::string read_owner(int fd) {
  std::array<char, 256> buf{};
  const ssize_t n = ::pread(fd, buf.data(), buf.size() - 1, 0);
  std::string s(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s.empty() ? "owner not recorded" : s;
}

// True when `name` is "<base>.tmp-" followed by mkdtemp's six characters.
bool is_staging_name(const std::string &name, const std::string &base) {
  const std::string prefix = base + ".tmp-";
  return name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

StagingDirectory::StagingDirectory(std::filesystem::path target, StagingOptions options)
    : given_(std::move(target)), options_(std::move(options)) {
  if (given_.empty()) fail(Status::InvalidArgument, "output directory: an empty path was given");
  std::filesystem::path p = given_;
  while (!p.has_filename() && p.has_relative_path()) p = p.parent_path();  // "out/" names out
  const auto root_refused = [this] {
    fail(Status::InvalidArgument, "output directory " + given_.string() +
                                      " is the root directory; give a directory to create or replace");
  };
  if (!p.has_relative_path()) root_refused();
  if (p.filename() == "." || p.filename() == "..") {
    // A step, not a name: resolve it to the directory it names.
    require_directory(p, "output directory");
    p = resolved(p);
    if (p.empty() || !p.has_relative_path()) root_refused();
  }
  const std::filesystem::path parent = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  require_directory(parent, "output directory " + given_.string() + ": its parent");
  const std::filesystem::path real_parent = resolved(parent);
  if (real_parent.empty())
    fail(Status::Io, "output directory " + given_.string() + ": cannot resolve its parent " + parent.string());
  target_ = real_parent / p.filename();
  check_target();
  sweep_stale();

  std::string pattern = (target_.parent_path() / (target_.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!::mkdtemp(buffer.data()))
    fail(Status::Io, "output directory " + given_.string() + ": cannot create a staging directory in " +
                         target_.parent_path().string() + ": " + errno_text(errno));
  staging_ = buffer.data();
  // mkdtemp makes 0700; a model directory is meant to be shared like the
  // files in it (AtomicFile uses 0644 for the same reason).
  ::chmod(staging_.c_str(), 0755);
  try {
    lock();
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(staging_, ec);
    if (lock_fd_ >= 0) ::close(lock_fd_);
    throw;
  }
}

StagingDirectory::~StagingDirectory() {
  if (!committed_ && !staging_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(staging_, ec);  // best effort: a destructor cannot report
  }
  // Released last, so no sweeper takes a directory still being removed.
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void StagingDirectory::note(const std::string &message) const {
  if (options_.notice) options_.notice(message);
}

void StagingDirectory::check_target() const {
  const std::string name = "output directory " + given_.string();
  const std::filesystem::path real = resolved(target_);
  for (const auto &input : options_.inputs) {
    const std::filesystem::path in = resolved(input.dir);
    if (in.empty() || real.empty()) continue;
    if (in == real) fail(Status::InvalidArgument, name + " is " + input.what + " (" + input.dir.string() + ")");
    if (is_within(in, real))
      fail(Status::InvalidArgument, name + " contains " + input.what + " (" + input.dir.string() +
                                        "); refusing to write there");
    if (is_within(real, in))
      fail(Status::InvalidArgument, name + " lies inside " + input.what + " (" + input.dir.string() +
                                        "); write the output elsewhere");
  }
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(target_, ec);
  if (!std::filesystem::exists(status)) return;
  if (!options_.overwrite)
    fail(Status::InvalidArgument, name + " already exists (ask to overwrite it to replace it)");
  if (std::filesystem::is_symlink(status))
    fail(Status::InvalidArgument, name + " is a symbolic link; refusing to replace it");
  if (!std::filesystem::is_directory(status))
    fail(Status::InvalidArgument, name + " exists and is not a directory; refusing to replace it");
  check_replaceable();
}

void StagingDirectory::check_replaceable() const {
  const std::string name = "output directory " + given_.string();
  std::error_code ec;
  if (const auto cwd = resolved(std::filesystem::current_path(ec)); !ec && !cwd.empty() &&
                                                                    is_within(cwd, resolved(target_)))
    fail(Status::InvalidArgument, "refusing to replace " + name + ": it holds the current working directory");
  if (!is_empty_directory(target_)) {
    std::optional<std::string> why = options_.why_not_replaceable
                                         ? options_.why_not_replaceable(target_)
                                         : std::optional<std::string>("it is not empty");
    if (why) fail(Status::InvalidArgument, "refusing to replace " + name + ": " + *why);
  }
  // Its entries go once it is swapped out; find out now whether they can,
  // rather than leave the old content under a temporary name at the end.
  if (::access(target_.c_str(), W_OK | X_OK) != 0)
    fail(Status::Io, "cannot replace " + name + ": its files cannot be deleted: " + errno_text(errno));
}

void StagingDirectory::sweep_stale() const {
  const std::string base = target_.filename().string();
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator(target_.parent_path(), ec)) {
    const std::filesystem::path dir = entry.path();
    if (!is_staging_name(dir.filename().string(), base)) continue;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if (st.st_uid != ::geteuid()) {
      note("left " + dir.string() + " in place: it belongs to another user");
      continue;
    }
    const int fd = ::open((dir / kStagingLockName).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      note("left " + dir.string() + " in place: it holds no libgptq lock file, so it cannot be told from "
           "a live process's; remove it yourself if nothing is writing " + target_.string());
      continue;
    }
    const std::string owner = read_owner(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      ::close(fd);
      note("left " + dir.string() + " in place: " +
           (e == EWOULDBLOCK ? "a live process is writing it (" + owner + ")" : "cannot lock it: " + errno_text(e)));
      continue;
    }
    // Its owner is gone (the kernel released the lock when it died).
    std::error_code rm;
    std::filesystem::remove_all(dir, rm);
    ::close(fd);
    note(rm ? "cannot remove " + dir.string() + ", left by a process that died (" + owner + "): " + rm.message()
            : "removed " + dir.string() + ", left by a process that died before it finished (" + owner + ")");
  }
}

void StagingDirectory::lock() {
  // Written and locked under a temporary name, then renamed: a sweeper that
  // finds the lock file always finds it locked while we live.
  std::string pattern = (staging_ / (std::string(kStagingLockName) + ".XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  const int fd = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (fd < 0) fail(Status::Io, staging_.string() + ": cannot create its lock file: " + errno_text(errno));
  lock_fd_ = fd;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    if (e != ENOLCK && e != EOPNOTSUPP && e != EINVAL)
      fail(Status::Io, staging_.string() + ": cannot lock its lock file: " + errno_text(e));
    // A file system without flock (some network mounts) still gets the
    // checkpoint; only the sweep loses its proof that we died.
    ::unlink(buffer.data());
    ::close(std::exchange(lock_fd_, -1));
    note("cannot lock " + staging_.string() + " on this file system (" + errno_text(e) +
         "); if this run is killed, the next one will report its staging directory instead of removing it");
    return;
  }
  const std::string owner = owner_text() + "\n";
  if (::write(fd, owner.data(), owner.size()) != static_cast<ssize_t>(owner.size()))
    fail(Status::Io, staging_.string() + ": cannot write its lock file: " + errno_text(errno));
  if (::rename(buffer.data(), (staging_ / kStagingLockName).c_str()) != 0)
    fail(Status::Io, staging_.string() + ": cannot name its lock file: " + errno_text(errno));
}

void StagingDirectory::commit() {
  if (committed_) fail(Status::InvalidArgument, staging_.string() + ": committed twice");
  // The lock guards the staging directory, not the result.
  if (::unlink((staging_ / kStagingLockName).c_str()) != 0 && errno != ENOENT)
    fail(Status::Io, staging_.string() + ": cannot remove its lock file: " + errno_text(errno));
  sync_directory(staging_);
  const std::filesystem::path parent = target_.parent_path();
  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::symlink_status(target_, ec));
  if (!exists || !options_.overwrite) {
    int e = rename_with(staging_, target_, RENAME_NOREPLACE);
    if (flag_unsupported(e)) {
      // No RENAME_NOREPLACE here: plain rename would replace an empty
      // directory, so check first (a small window, only on such systems).
      e = std::filesystem::exists(std::filesystem::symlink_status(target_, ec)) ? EEXIST : 0;
      if (e == 0 && ::rename(staging_.c_str(), target_.c_str()) != 0) e = errno;
    }
    if (e == EEXIST || e == ENOTEMPTY)
      fail(Status::InvalidArgument, "output directory " + given_.string() +
                                        " appeared while it was being written; not replacing it");
    if (e != 0)
      fail(Status::Io, "cannot rename " + staging_.string() + " to " + target_.string() + ": " +
                           errno_text(e));
    committed_ = true;
    sync_directory(parent);
    return;
  }
  // It may have changed since the constructor looked (hours ago, for a big model).
  check_target();
  std::filesystem::path old = staging_;  // where the old directory ends up
  // Swap in one step, so readers see the old or the new directory, never
  // none; the old one then sits at the staging name and is deleted.
  int e = rename_with(staging_, target_, RENAME_EXCHANGE);
  if (flag_unsupported(e)) {
    old = staging_.string() + ".old";
    if (::rename(target_.c_str(), old.c_str()) != 0)
      fail(Status::Io, "cannot move the old " + target_.string() + " aside: " + errno_text(errno));
    if (::rename(staging_.c_str(), target_.c_str()) != 0) {
      const int r = errno;
      ::rename(old.c_str(), target_.c_str());  // put the old one back
      fail(Status::Io, "cannot rename " + staging_.string() + " to " + target_.string() + ": " +
                           errno_text(r));
    }
  } else if (e != 0) {
    fail(Status::Io, "cannot replace " + target_.string() + " with " + staging_.string() + ": " +
                         errno_text(e));
  }
  committed_ = true;
  std::filesystem::remove_all(old, ec);
  if (ec)
    note("replaced " + target_.string() + ", but its old content could not all be deleted (" + ec.message() +
         "); what is left of it is in " + old.string());
  sync_directory(parent);
}

}  // namespace gptq::io
