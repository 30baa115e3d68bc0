// Writing a file so that readers see either the old file or the complete new
// one, never a partial one: write a temporary file in the same directory,
// fsync it, rename it over the target, fsync the directory. Until commit() the
// temporary is removed on destruction, so a failure or an exception leaves
// nothing behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace gptq::io {

class AtomicFile {
 public:
  // Creates the temporary file beside `target` (same directory, so the rename
  // is atomic). Throws Error(Io) naming the directory when it cannot.
  explicit AtomicFile(std::filesystem::path target);
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;
  AtomicFile(AtomicFile &&other) noexcept;
  AtomicFile &operator=(AtomicFile &&other) noexcept;
  // Removes the temporary when commit() did not happen.
  ~AtomicFile();

  // Appends all of `bytes`; throws Error(Io) naming the target.
  void write(std::span<const std::byte> bytes);
  void write(std::string_view text);
  std::uint64_t bytes_written() const noexcept { return written_; }

  // Flushes the data to disk and closes the temporary, without renaming it.
  // Lets a caller writing several files sync them all before it renames any.
  void sync();
  // sync() if not done, renames the temporary over the target and fsyncs the
  // directory. After commit() the destructor leaves the file alone.
  void commit();

  // True once the rename happened (even if the directory fsync then failed).
  bool committed() const noexcept { return renamed_; }
  const std::filesystem::path &target() const noexcept { return target_; }
  const std::filesystem::path &temporary() const noexcept { return temp_; }

 private:
  void discard() noexcept;

  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
  bool renamed_ = false;
};

// Writes `contents` to `target` through an AtomicFile.
void write_file_atomically(const std::filesystem::path &target, std::string_view contents);

// fsyncs a directory, so a rename in it is durable. Throws Error(Io).
void sync_directory(const std::filesystem::path &dir);

}  // namespace gptq::io
