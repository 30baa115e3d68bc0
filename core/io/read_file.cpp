#include "core/io/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace gptq::io {
namespace {

// Closes the descriptor on every path out of read_text_file.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

}  // namespace

std::string read_text_file(const std::filesystem::path &path, std::uint64_t max_bytes) {
  const std::string src = path.string();
  const int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(Status::Io, src + ": cannot open: " + std::strerror(errno));
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(Status::Io, src + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(Status::Io, src + ": not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    fail(Status::Format, src + ": file is " + std::to_string(st.st_size) +
                             " bytes, more than the limit of " + std::to_string(max_bytes));
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(Status::Io, src + ": read failed: " + std::strerror(errno));
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  return text;
}

}  // namespace gptq::io
