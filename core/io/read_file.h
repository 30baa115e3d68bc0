// Reading a small text file (index, config.json, calibration text) whole into
// memory: the one place core/ opens such files, so every failure says why.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace gptq::io {

// The contents of `path`: a regular file, or a FIFO read to its end (so a
// pipe, e.g. bash's <(zcat calib.txt.gz), can stand for a file; opening one
// waits for its writer, as cat does). Throws Error(InvalidArgument) for an
// empty path; Error(Io) naming the path and saying why otherwise: "does not
// exist", "is a directory, not a regular file", "cannot open: Permission
// denied", "read failed: <strerror>"; Error(Format) when it holds more than
// `max_bytes` (these files are kilobytes to megabytes; a huge one is not what
// we think it is).
std::string read_text_file(const std::filesystem::path &path, std::uint64_t max_bytes);

}  // namespace gptq::io
