// A model's weights as one name -> tensor map, whether they sit in a single
// model.safetensors or in shards listed by model.safetensors.index.json.
// Opening reads only the index (or the single file's header); each shard is
// mapped and validated on the first access to one of its tensors, so opening a
// model costs nothing proportional to its size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/safetensors_reader.h"

namespace gptq::io {

inline constexpr std::string_view kSafetensorsIndexName = "model.safetensors.index.json";
inline constexpr std::string_view kSingleSafetensorsName = "model.safetensors";

// Move-only; safe to use from several threads at once (shards open under a lock).
class ShardedCheckpoint {
 public:
  // Opens the checkpoint in `dir`: the index when present, else model.safetensors.
  // Throws Error(Io) when neither exists or a shard the index names is missing,
  // Error(Format) for a malformed index (naming the index file and the field).
  static ShardedCheckpoint open(const std::filesystem::path &dir);

  ShardedCheckpoint(ShardedCheckpoint &&) noexcept;
  ShardedCheckpoint &operator=(ShardedCheckpoint &&) noexcept;
  ~ShardedCheckpoint();

  const std::filesystem::path &directory() const noexcept;
  // All tensor names, sorted.
  const std::vector<std::string> &tensor_names() const noexcept;
  bool contains(std::string_view name) const;
  // The shard file name (relative to directory()) holding `name`; throws
  // Error(Format) when there is no such tensor.
  const std::string &shard_of(std::string_view name) const;

  // The tensor, mapping its shard on first use. Opening a shard checks that it
  // holds every tensor the index assigns to it (Error(Format) otherwise, naming
  // the index, the shard and the tensor). tensor() throws Error(Format) for a
  // name the checkpoint does not have; find() returns nullopt.
  TensorView tensor(std::string_view name) const;
  std::optional<TensorView> find(std::string_view name) const;

  // SafetensorsFile::release for the shard holding `name`, when it is mapped.
  void release(std::string_view name) const noexcept;

  // "total_size" from the index's metadata, when given.
  std::optional<std::uint64_t> total_size() const noexcept;

  std::size_t shard_count() const noexcept;
  // How many shards have been mapped so far (for tests of the laziness).
  std::size_t opened_shard_count() const;

 private:
  struct Impl;
  explicit ShardedCheckpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gptq::io
