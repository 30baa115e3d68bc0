// Helpers for the io and model tests: a temporary directory removed at the end
// of the test, raw safetensors bytes from a header string, and assertions on
// gptq::Error status and message.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.h"

namespace gptq::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gptq-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path &path() const { return path_; }
  std::filesystem::path operator/(const std::string &name) const { return path_ / name; }
  // Names of the entries in the directory, sorted (to check nothing is left behind).
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto &e : std::filesystem::directory_iterator(path_))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path path_;
};

// 8-byte little-endian `header_len`, then `header`, then `data_bytes` bytes of a
// simple pattern. header_len defaults to header.size().
inline std::string safetensors_bytes(std::string_view header, std::size_t data_bytes,
                                     std::optional<std::uint64_t> header_len = std::nullopt) {
  const std::uint64_t n = header_len.value_or(header.size());
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += header;
  for (std::size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<char>(i * 7 + 1));
  return out;
}

inline void write_bytes(const std::filesystem::path &path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace gptq::testing

// Runs `statement`, expects a gptq::Error with `status` whose message contains
// every string in the braced list `needles`.
#define EXPECT_GPTQ_ERROR(statement, expected_status, ...)                               \
  do {                                                                                   \
    try {                                                                                \
      statement;                                                                         \
      ADD_FAILURE() << "expected gptq::Error from: " #statement;                         \
    } catch (const ::gptq::Error &e_) {                                                  \
      EXPECT_EQ(static_cast<int>(e_.status()), static_cast<int>(expected_status))        \
          << "message: " << e_.what();                                                   \
      for (const std::string &needle_ : std::vector<std::string> __VA_ARGS__)            \
        EXPECT_NE(std::string(e_.what()).find(needle_), std::string::npos)               \
            << "message lacks '" << needle_ << "': " << e_.what();                       \
    }                                                                                    \
  } while (0)
