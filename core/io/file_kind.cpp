#include "core/io/file_kind.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/base/error.h"

namespace gptq::io {

std::string file_kind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "an unknown kind of file";
}

std::optional<std::string> why_not_regular_file(const std::filesystem::path &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENOENT) return "does not exist";
    return std::string("cannot be accessed (") + std::strerror(e) + ")";
  }
  if (S_ISREG(st.st_mode)) return std::nullopt;
  return "is " + file_kind(st.st_mode) + ", not a regular file";
}

void require_directory(const std::filesystem::path &dir, std::string_view what) {
  const std::string name(what);
  if (dir.empty()) fail(Status::InvalidArgument, name + ": an empty path was given");
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENOENT) fail(Status::Io, name + " " + dir.string() + " does not exist");
    fail(Status::Io, name + " " + dir.string() + ": cannot access: " + std::strerror(e));
  }
  if (!S_ISDIR(st.st_mode))
    fail(Status::Io, name + " " + dir.string() + " is " + file_kind(st.st_mode) + ", not a directory");
}

}  // namespace gptq::io
