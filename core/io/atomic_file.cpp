#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/base/error.h"

namespace gptq::io {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::filesystem::path parent_or_dot(const std::filesystem::path &p) {
  return p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  if (!target_.has_filename())
    fail(Status::InvalidArgument, "AtomicFile: target " + target_.string() + " has no file name");
  // Hidden, and named after the target, so a leftover from a crash is recognizable.
  std::string pattern =
      (parent_or_dot(target_) / ("." + target_.filename().string() + ".tmp.XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  fd_ = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (fd_ < 0)
    fail(Status::Io, target_.string() + ": cannot create a temporary file in " +
                         parent_or_dot(target_).string() + ": " + errno_text());
  temp_ = buffer.data();
  // mkstemp makes 0600; model files are meant to be shared, so use the usual
  // 0644 (querying the umask would mean changing it, which races other threads).
  ::fchmod(fd_, 0644);
}

AtomicFile::AtomicFile(AtomicFile &&other) noexcept
    : target_(std::move(other.target_)),
      temp_(std::exchange(other.temp_, {})),
      fd_(std::exchange(other.fd_, -1)),
      written_(other.written_),
      renamed_(other.renamed_) {}

AtomicFile &AtomicFile::operator=(AtomicFile &&other) noexcept {
  if (this != &other) {
    discard();
    target_ = std::move(other.target_);
    temp_ = std::exchange(other.temp_, {});
    fd_ = std::exchange(other.fd_, -1);
    written_ = other.written_;
    renamed_ = other.renamed_;
  }
  return *this;
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!renamed_ && !temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();  // nothing left to clean up
}

void AtomicFile::write(std::span<const std::byte> bytes) {
  if (fd_ < 0)
    fail(Status::InvalidArgument, target_.string() + ": write after the file was synced");
  const auto *p = reinterpret_cast<const char *>(bytes.data());
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(Status::Io, target_.string() + ": write failed: " + errno_text());
    p += n;
    left -= static_cast<std::size_t>(n);
    written_ += static_cast<std::uint64_t>(n);
  }
}

void AtomicFile::write(std::string_view text) {
  write(std::as_bytes(std::span(text.data(), text.size())));
}

void AtomicFile::sync() {
  if (fd_ < 0) return;
  if (::fsync(fd_) != 0) fail(Status::Io, target_.string() + ": fsync failed: " + errno_text());
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) fail(Status::Io, target_.string() + ": close failed: " + errno_text());
}

void AtomicFile::commit() {
  if (renamed_ || temp_.empty())
    fail(Status::InvalidArgument, target_.string() + ": committed twice or after a move");
  sync();
  if (::rename(temp_.c_str(), target_.c_str()) != 0)
    fail(Status::Io, target_.string() + ": cannot rename " + temp_.string() +
                         " over it: " + errno_text());
  renamed_ = true;
  sync_directory(parent_or_dot(target_));
}

void write_file_atomically(const std::filesystem::path &target, std::string_view contents) {
  AtomicFile file(target);
  file.write(contents);
  file.commit();
}

void sync_directory(const std::filesystem::path &dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(Status::Io, dir.string() + ": cannot open directory to fsync: " + errno_text());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail(Status::Io, dir.string() + ": fsync of directory failed: " + std::strerror(err));
}

}  // namespace gptq::io
