// Reading safetensors files: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then
// the raw little-endian tensor data. The whole header is validated before any
// byte of tensor data is touched; tensors are then zero-copy views of the
// memory (an mmap of the file, or bytes the caller holds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor/dtype.h"

namespace gptq::io {

// Headers larger than this are refused: real ones are kilobytes, and the whole
// header is parsed into memory.
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// One tensor of a file. `data` points into the file's memory and is valid while
// the SafetensorsFile (or ShardedCheckpoint) it came from is alive. It is not
// necessarily aligned to the element size (files written by the Python package
// and by us are 8-byte aligned; others may not be).
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;

  std::int64_t numel() const noexcept;
};

// A tensor's entry in the header, with offsets relative to the data section.
struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

// A validated safetensors file. Move-only.
class SafetensorsFile {
 public:
  // Maps `path` read-only (MAP_PRIVATE) and validates its header. Throws
  // Error(Io) when the file cannot be opened or mapped, Error(Format) for
  // malformed content, Error(Unsupported) for a dtype the format has but we don't.
  static SafetensorsFile open(const std::filesystem::path &path);

  // Validates `bytes` as a whole safetensors file without copying them; the
  // caller keeps them alive as long as this object and its views. `source`
  // names the bytes in error messages. open() goes through this same parser.
  static SafetensorsFile from_memory(std::span<const std::byte> bytes, std::string source);

  SafetensorsFile(SafetensorsFile &&) noexcept;
  SafetensorsFile &operator=(SafetensorsFile &&) noexcept;
  ~SafetensorsFile();

  const std::string &source() const noexcept { return source_; }

  // Entries in data order (ascending offsets).
  const std::vector<TensorEntry> &entries() const noexcept { return entries_; }
  bool contains(std::string_view name) const;
  std::optional<TensorView> find(std::string_view name) const;
  // Throws Error(Format) naming the file and the tensor when it is absent.
  TensorView tensor(std::string_view name) const;

  // The "__metadata__" object (empty when the header has none).
  const std::map<std::string, std::string> &metadata() const noexcept { return metadata_; }

  // Drops the resident pages of tensor `name` once the caller holds what it
  // needs of them (a copy in another dtype). The view stays valid: a later
  // access reads the file again. Streaming a model block by block otherwise
  // keeps every block it has passed resident, and clean file pages count in
  // RSS and in a container's memory limit. No effect for from_memory files
  // (their bytes belong to the caller) or unknown names.
  void release(std::string_view name) const noexcept;

  // Where the data section starts in the file: 8 + header length.
  std::uint64_t data_offset() const noexcept { return data_offset_; }

 private:
  struct Mapping;
  SafetensorsFile() = default;
  TensorView view(const TensorEntry &entry) const;

  std::unique_ptr<Mapping> mapping_;  // null for from_memory
  std::span<const std::byte> bytes_;
  std::string source_;
  std::vector<TensorEntry> entries_;
  std::map<std::string, std::size_t, std::less<>> by_name_;  // name -> index in entries_
  std::map<std::string, std::string> metadata_;
  std::uint64_t data_offset_ = 0;
};

}  // namespace gptq::io
