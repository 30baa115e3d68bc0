// Reading a file named on the command line, whole and as bytes: a regular
// file, or a pipe read to its end (so --ppl <(zcat text.gz) works). The one
// place the tool opens files; on failure it prints "gptq: error: cannot read
// PATH: <why>" (why: strerror, or what the path is instead of a file) and
// returns false (exit code 1).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

namespace gptq::cli {

namespace detail {

inline const char *non_file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "it is a directory";
  if (S_ISSOCK(mode)) return "it is a socket";
  if (S_ISBLK(mode)) return "it is a block device";
  return nullptr;  // regular files, FIFOs and character devices (/dev/stdin) are read
}

}  // namespace detail

// Reads `path` whole into *out. On failure returns why (strerror, or what the
// path is instead of a file) and leaves *out alone.
inline std::optional<std::string> try_read_file(const std::string &path, std::string *out) {
  if (path.empty()) return "an empty path was given";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
  if (const char *kind = detail::non_file_kind(st.st_mode)) return kind;
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return std::strerror(errno);
  std::string text;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return std::strerror(e);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  *out = std::move(text);
  return std::nullopt;
}

// try_read_file, printing "gptq: error: cannot read PATH: <why>" on failure.
inline bool read_file(const std::string &path, std::string *out) {
  if (auto why = try_read_file(path, out)) {
    std::fprintf(stderr, "gptq: error: cannot read %s: %s\n", path.c_str(), why->c_str());
    return false;
  }
  return true;
}

}  // namespace gptq::cli
