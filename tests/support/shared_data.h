// Locating ../shared (the test models and texts) from a test.
//
// Tests that need a model or a text call GPTQ_REQUIRE_SHARED(path): when the
// file is missing the test fails under CI=true (CI always has ../shared beside
// the checkout) and is skipped with the reason otherwise.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace gptq::testing {

// GPTQ_SHARED_DIR (set by ctest) or ../shared relative to the source tree.
inline std::filesystem::path shared_dir() {
  if (const char *d = std::getenv("GPTQ_SHARED_DIR"); d && *d) return d;
  if (const char *s = std::getenv("GPTQ_SOURCE_DIR"); s && *s)
    return std::filesystem::path(s) / ".." / "shared";
  return "../shared";
}

inline std::filesystem::path shared_path(const std::string &relative) {
  return shared_dir() / relative;
}

inline bool running_in_ci() {
  const char *ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// The source tree (for files the repo holds: goldens, corpora).
inline std::filesystem::path source_dir() {
  if (const char *s = std::getenv("GPTQ_SOURCE_DIR"); s && *s) return s;
  return ".";
}

// The golden files tests/data/reference/<prefix>*.json, sorted by name.
inline std::vector<std::filesystem::path> reference_files(const std::string &prefix) {
  std::vector<std::filesystem::path> files;
  for (const auto &e : std::filesystem::directory_iterator(source_dir() / "tests/data/reference"))
    if (e.path().filename().string().starts_with(prefix) && e.path().extension() == ".json")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace gptq::testing

// Fails (CI) or skips (elsewhere) the current test when `relative` is missing
// under ../shared; otherwise declares `std::filesystem::path var` pointing at it.
#define GPTQ_REQUIRE_SHARED(var, relative)                                        \
  const std::filesystem::path var = ::gptq::testing::shared_path(relative);       \
  do {                                                                             \
    if (!std::filesystem::exists(var)) {                                           \
      if (::gptq::testing::running_in_ci()) {                                      \
        FAIL() << "CI=true but the shared test file is missing: " << var;          \
      } else {                                                                     \
        GTEST_SKIP() << "shared test file missing (skipped outside CI): " << var;  \
      }                                                                            \
    }                                                                              \
  } while (0)
