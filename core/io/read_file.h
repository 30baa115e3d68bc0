// Reading a small text file (index, config.json) whole into memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace gptq::io {

// The contents of `path`. Throws Error(Io) naming the path when it cannot be
// opened or read, and Error(Format) when it is larger than `max_bytes` (these
// files are kilobytes; a huge one is not what we think it is).
std::string read_text_file(const std::filesystem::path &path, std::uint64_t max_bytes);

}  // namespace gptq::io
