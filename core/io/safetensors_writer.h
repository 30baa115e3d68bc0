// Writing safetensors files and sharded checkpoints, streaming: tensors go to
// disk one at a time, from the caller's memory or from a callback that fills
// a bounded buffer, so the file is never assembled in memory. Files are
// written atomically (core/io/atomic_file.h); a failure or an exception
// leaves nothing behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/tensor/dtype.h"

namespace gptq::io {

// One tensor to write. Give its bytes (little-endian, row-major, exactly
// numel x dtype size) in `data`, or a `fill` that produces them: it is called
// with consecutive chunks, `offset` being the chunk's first byte within the
// tensor, and must fill the whole chunk. Tensors with no elements need neither.
struct TensorSource {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;
  std::function<void(std::span<std::byte> chunk, std::uint64_t offset)> fill;
};

struct SafetensorsWriteOptions {
  // Written as "__metadata__"; the Python tools write {"format": "pt"}.
  std::map<std::string, std::string> metadata{{"format", "pt"}};
  // Most tensor bytes per shard (headers not counted, as transformers counts);
  // 0 means no limit. A tensor larger than this gets a shard of its own.
  std::uint64_t max_shard_bytes = 0;
  // Size of the buffer handed to `fill` callbacks.
  std::size_t fill_chunk_bytes = std::size_t{16} << 20;
};

// Writes `tensors`, in this order (header and data alike), as one safetensors
// file. Throws Error(InvalidArgument) naming the tensor for a bad source
// (duplicate or empty name, negative dim, data of the wrong size), Error(Io)
// for a failed write; whatever a `fill` throws propagates. Either way the
// target is left as it was.
void write_safetensors(const std::filesystem::path &file, std::span<const TensorSource> tensors,
                       const SafetensorsWriteOptions &options = {});

// Writes a model's weights into the existing directory `dir`: model.safetensors
// when they fit in one shard, else model-00001-of-0000N.safetensors ... plus
// model.safetensors.index.json ({"metadata": {"total_size": bytes},
// "weight_map": {tensor: shard}}). All shards are written and synced before any
// is renamed into place, and the index goes last; on failure the files already
// renamed are removed. Returns the file names written, index last.
std::vector<std::string> write_safetensors_checkpoint(const std::filesystem::path &dir,
                                                      std::span<const TensorSource> tensors,
                                                      const SafetensorsWriteOptions &options = {});

// "model-00002-of-00005.safetensors".
std::string shard_file_name(std::size_t index_from_1, std::size_t count);

}  // namespace gptq::io
