// What is at a path, named for messages: a path that exists but is the wrong
// kind of thing ("is a directory", "is a FIFO") must not be reported as
// missing, and a path that cannot be looked at says why (strerror).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace gptq::io {

// "a regular file", "a directory", "a symbolic link", "a FIFO", "a socket",
// "a character device", "a block device" or "an unknown kind of file".
std::string file_kind(mode_t mode);

// Why `path` is not a regular file (symbolic links followed), or nullopt when
// it is one: "does not exist", "is a directory, not a regular file",
// "cannot be accessed (<strerror>)".
std::optional<std::string> why_not_regular_file(const std::filesystem::path &path);

// Throws unless `dir` names an existing directory (symbolic links followed):
// Error(InvalidArgument) "<what>: an empty path was given" for "", else
// Error(Io) "<what> <dir> does not exist", "<what> <dir> is a regular file,
// not a directory", or "<what> <dir>: cannot access: <strerror>".
void require_directory(const std::filesystem::path &dir, std::string_view what);

}  // namespace gptq::io
