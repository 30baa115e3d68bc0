#include "core/io/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/base/error.h"
#include "core/io/file_kind.h"

namespace gptq::io {
namespace {

// Closes the descriptor on every path out of read_text_file.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

[[noreturn]] void too_big(const std::string &src, std::uint64_t size, std::uint64_t max_bytes) {
  fail(Status::Format, src + ": file is " + std::to_string(size) + " bytes, more than the limit of " +
                           std::to_string(max_bytes));
}

}  // namespace

std::string read_text_file(const std::filesystem::path &path, std::uint64_t max_bytes) {
  const std::string src = path.string();
  if (src.empty()) fail(Status::InvalidArgument, "cannot read a file: an empty path was given");
  // Look before opening: open() on a FIFO would wait for a writer even when
  // the caller gave a directory's name by mistake.
  struct stat st {};
  if (::stat(src.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENOENT) fail(Status::Io, src + ": does not exist");
    fail(Status::Io, src + ": cannot access: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
    fail(Status::Io, src + ": is " + file_kind(st.st_mode) + ", not a regular file");
  int fd = -1;
  do {
    fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) fail(Status::Io, src + ": cannot open: " + std::strerror(errno));
  FdCloser closer{fd};
  if (::fstat(fd, &st) != 0) fail(Status::Io, src + ": cannot stat: " + std::strerror(errno));
  const bool regular = S_ISREG(st.st_mode);
  if (!regular && !S_ISFIFO(st.st_mode))  // replaced between stat and open
    fail(Status::Io, src + ": is " + file_kind(st.st_mode) + ", not a regular file");
  if (regular && static_cast<std::uint64_t>(st.st_size) > max_bytes)
    too_big(src, static_cast<std::uint64_t>(st.st_size), max_bytes);
  // A regular file is read at its size; a FIFO in chunks until its end.
  std::string text(regular ? static_cast<std::size_t>(st.st_size) : std::size_t{1} << 16, '\0');
  std::size_t done = 0;
  while (true) {
    if (done == text.size()) {
      if (regular) break;
      if (done > max_bytes) too_big(src, done, max_bytes);
      // One byte past the limit is enough to tell a FIFO is too big.
      text.resize(static_cast<std::size_t>(std::min<std::uint64_t>(text.size() * 2, max_bytes + 1)));
    }
    const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(Status::Io, src + ": read failed: " + std::strerror(errno));
    if (n == 0) break;  // the end (or a regular file that shrank while we read it)
    done += static_cast<std::size_t>(n);
  }
  if (done > max_bytes) too_big(src, done, max_bytes);
  text.resize(done);
  return text;
}

}  // namespace gptq::io
