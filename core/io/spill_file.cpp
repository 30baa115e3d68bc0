#include "core/io/spill_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/base/error.h"

namespace gptq::io {

SpillFile::SpillFile(const std::filesystem::path &dir) : dir_(dir) {
  std::string pattern = (dir / ".spill.XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  fd_ = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (fd_ < 0)
    fail(Status::Io, "cannot create a temporary file in " + dir.string() + ": " + std::strerror(errno));
  ::unlink(buffer.data());
}

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t SpillFile::append(std::span<const std::byte> bytes) {
  const std::uint64_t start = size_;
  const auto *p = reinterpret_cast<const char *>(bytes.data());
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(size_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      fail(Status::Io, "cannot write a temporary file in " + dir_.string() + ": " +
                           (n < 0 ? std::strerror(errno) : "no progress"));
    p += n;
    left -= static_cast<std::size_t>(n);
    size_ += static_cast<std::uint64_t>(n);
  }
  return start;
}

void SpillFile::read(std::uint64_t offset, std::span<std::byte> out) const {
  if (offset > size_ || out.size() > size_ - offset)
    fail(Status::Internal, "spill file: read of " + std::to_string(out.size()) + " bytes at " +
                               std::to_string(offset) + " past its " + std::to_string(size_));
  auto *p = reinterpret_cast<char *>(out.data());
  std::size_t left = out.size();
  while (left > 0) {
    const ssize_t n = ::pread(fd_, p, left, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      fail(Status::Io, "cannot read back a temporary file in " + dir_.string() + ": " +
                           (n < 0 ? std::strerror(errno) : "unexpected end of file"));
    p += n;
    offset += static_cast<std::uint64_t>(n);
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace gptq::io
