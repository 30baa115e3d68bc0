// Reading a file named on the command line, whole and as bytes. On failure it
// prints "gptq: error: cannot read PATH" and returns false (exit code 1).
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace gptq::cli {

inline bool read_file(const std::string &path, std::string *out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "gptq: error: cannot read %s\n", path.c_str());
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace gptq::cli
