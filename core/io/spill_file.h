// Bytes parked on disk until they are copied into their final file: lets a
// checkpoint writer take quantized tensors one layer at a time and keep none
// of them in memory. The file is unlinked as soon as it is created, so it
// vanishes with its descriptor even if the process dies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

namespace gptq::io {

class SpillFile {
 public:
  // Creates the (already unlinked) file in `dir`; Error(Io) naming it.
  explicit SpillFile(const std::filesystem::path &dir);
  SpillFile(const SpillFile &) = delete;
  SpillFile &operator=(const SpillFile &) = delete;
  ~SpillFile();

  // Appends `bytes` and returns the offset they start at.
  std::uint64_t append(std::span<const std::byte> bytes);
  // Reads out.size() bytes from `offset`, which must lie within what was
  // appended. Safe from several threads at once (pread).
  void read(std::uint64_t offset, std::span<std::byte> out) const;
  std::uint64_t size() const noexcept { return size_; }

 private:
  std::filesystem::path dir_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace gptq::io
