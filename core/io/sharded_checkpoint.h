// A model's weights as one name -> tensor map, whether they sit in a single
// safetensors file or in shards listed by an index (*.safetensors.index.json).
// Opening reads only the index (or the single file's header); each shard is
// mapped and validated on the first access to one of its tensors, so opening a
// model costs nothing proportional to its size.
//
// Which file: the peers name their checkpoints differently, so open() looks,
// in order, for
//  1. <named>.safetensors.index.json, then <named>.safetensors, when the
//     caller passes the base name a config gives (AutoGPTQ's
//     quantize_config.json "model_file_base_name", e.g.
//     "gptq_model-4bit-128g"; AutoGPTQ's get_checkpoints() looks for exactly
//     these two);
//  2. model.safetensors.index.json, then model.safetensors (transformers,
//     GPTQModel, optimum, vLLM, and us);
//  3. failing both, and when no name was given: the directory's only
//     *.safetensors.index.json, else its only *.safetensors, whatever their
//     names (AutoGPTQ <= 0.7 saved gptq_model-4bit-128g.safetensors and most
//     often wrote model_file_base_name null).
// A name that names nothing (with no model.safetensors either), or several
// candidates in step 3, is an error that lists what the directory holds:
// guessing between two checkpoints would load the wrong one silently.
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
  // Opens the checkpoint in `dir` as described above (`named`: a base name
  // from the model's config, or empty). Throws Error(Io) when no checkpoint
  // file is found (naming `named` when given) or a shard the index names is
  // missing; Error(Format) for several candidate files, a `named` that is
  // not a plain file name, or a malformed index (naming the index file and
  // the field).
  static ShardedCheckpoint open(const std::filesystem::path &dir, std::string_view named = {});

  ShardedCheckpoint(ShardedCheckpoint &&) noexcept;
  ShardedCheckpoint &operator=(ShardedCheckpoint &&) noexcept;
  ~ShardedCheckpoint();

  const std::filesystem::path &directory() const noexcept;
  // The file open() chose: the index, or the single safetensors file.
  const std::filesystem::path &source() const noexcept;
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

  // Maps and validates every shard now (each header, and that each holds the
  // tensors the index gives it), so a broken shard is found before long work
  // rather than when its first tensor is needed. Errors as tensor().
  void open_all_shards() const;

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
