#include "core/io/safetensors_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/io/atomic_file.h"
#include "core/io/sharded_checkpoint.h"

namespace gptq::io {
namespace {

using json = nlohmann::json;

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

// JSON string literal; names that are not UTF-8 cannot be written.
std::string json_string(const std::string &s, const std::string &what) {
  try {
    return json(s).dump();
  } catch (const json::exception &) {
    fail(Status::InvalidArgument, what + " is not valid UTF-8");
  }
}

// Bytes of each tensor, after checking every source; throws before anything is written.
std::vector<std::uint64_t> checked_sizes(std::span<const TensorSource> tensors,
                                         const std::string &where) {
  std::vector<std::uint64_t> sizes;
  std::set<std::string_view> seen;
  for (const TensorSource &t : tensors) {
    const std::string what = where + ": tensor " + in_quotes(t.name);
    if (t.name.empty()) fail(Status::InvalidArgument, where + ": a tensor has an empty name");
    if (t.name == "__metadata__")
      fail(Status::InvalidArgument, what + ": the name is reserved for the metadata");
    if (!seen.insert(t.name).second) fail(Status::InvalidArgument, what + ": duplicate name");
    std::uint64_t n = dtype_size(t.dtype);
    for (std::int64_t d : t.shape) {
      if (d < 0)
        fail(Status::InvalidArgument, what + ": negative dimension " + std::to_string(d));
      if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n))
        fail(Status::InvalidArgument, what + ": size overflows 64 bits");
    }
    if (t.fill && !t.data.empty())
      fail(Status::InvalidArgument, what + ": give either data or fill, not both");
    if (!t.fill && t.data.size() != n)
      fail(Status::InvalidArgument, what + ": data holds " + std::to_string(t.data.size()) +
                                        " bytes, but " + std::string(dtype_name(t.dtype)) +
                                        " of this shape needs " + std::to_string(n));
    sizes.push_back(n);
  }
  return sizes;
}

// The header text for tensors[first, last), padded with spaces so the data
// starts 8-byte aligned (as the Python package does).
std::string build_header(std::span<const TensorSource> tensors,
                         std::span<const std::uint64_t> sizes,
                         const std::map<std::string, std::string> &metadata) {
  std::string h = "{";
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool first = true;
    for (const auto &[k, v] : metadata) {
      if (!first) h += ',';
      first = false;
      h += json_string(k, "metadata key " + in_quotes(k)) + ':' +
           json_string(v, "metadata value for " + in_quotes(k));
    }
    h += '}';
  }
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorSource &t = tensors[i];
    if (h.size() > 1) h += ',';
    h += json_string(t.name, "tensor name " + in_quotes(t.name));
    h += ":{\"dtype\":\"";
    h += dtype_name(t.dtype);
    h += "\",\"shape\":[";
    for (std::size_t d = 0; d < t.shape.size(); ++d) {
      if (d) h += ',';
      h += std::to_string(t.shape[d]);
    }
    h += "],\"data_offsets\":[" + std::to_string(offset) + ',' +
         std::to_string(offset + sizes[i]) + "]}";
    offset += sizes[i];
  }
  h += '}';
  h.append((8 - h.size() % 8) % 8, ' ');
  return h;
}

void write_tensor_data(AtomicFile &out, const TensorSource &t, std::uint64_t size,
                       std::vector<std::byte> &buffer, std::size_t chunk_bytes) {
  if (!t.fill) {
    out.write(t.data);
    return;
  }
  for (std::uint64_t offset = 0; offset < size;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_bytes, size - offset));
    if (buffer.size() < n) buffer.resize(n);
    const std::span<std::byte> chunk(buffer.data(), n);
    t.fill(chunk, offset);
    out.write(chunk);
    offset += n;
  }
}

// Writes one file's header and data into `out` (not yet committed).
void write_body(AtomicFile &out, std::span<const TensorSource> tensors,
                std::span<const std::uint64_t> sizes, const SafetensorsWriteOptions &options) {
  const std::string header = build_header(tensors, sizes, options.metadata);
  std::byte length[8];
  for (int i = 0; i < 8; ++i)
    length[i] = static_cast<std::byte>((static_cast<std::uint64_t>(header.size()) >> (8 * i)) & 0xff);
  out.write(std::span<const std::byte>(length, 8));
  out.write(header);
  std::vector<std::byte> buffer;
  const std::size_t chunk = std::max<std::size_t>(options.fill_chunk_bytes, 1);
  for (std::size_t i = 0; i < tensors.size(); ++i)
    write_tensor_data(out, tensors[i], sizes[i], buffer, chunk);
}

// Removes files already renamed into place unless disarmed: the all-or-nothing
// part of writing several files.
struct RenamedFiles {
  std::vector<std::filesystem::path> paths;
  bool keep = false;
  ~RenamedFiles() {
    if (!keep)
      for (const auto &p : paths) ::unlink(p.c_str());
  }
};

}  // namespace

std::string shard_file_name(std::size_t index_from_1, std::size_t count) {
  char name[64];
  std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", index_from_1, count);
  return name;
}

void write_safetensors(const std::filesystem::path &file, std::span<const TensorSource> tensors,
                       const SafetensorsWriteOptions &options) {
  const std::vector<std::uint64_t> sizes = checked_sizes(tensors, file.string());
  AtomicFile out(file);
  write_body(out, tensors, sizes, options);
  out.commit();
}

std::vector<std::string> write_safetensors_checkpoint(const std::filesystem::path &dir,
                                                      std::span<const TensorSource> tensors,
                                                      const SafetensorsWriteOptions &options) {
  const std::vector<std::uint64_t> sizes = checked_sizes(tensors, dir.string());

  // Shards as [begin, end) ranges of `tensors`, filled greedily in order.
  std::vector<std::pair<std::size_t, std::size_t>> shards;
  std::uint64_t shard_bytes = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const bool full = options.max_shard_bytes != 0 && !shards.empty() &&
                      shards.back().second > shards.back().first &&
                      shard_bytes + sizes[i] > options.max_shard_bytes;
    if (shards.empty() || full) {
      shards.emplace_back(i, i);
      shard_bytes = 0;
    }
    shards.back().second = i + 1;
    shard_bytes += sizes[i];
  }
  if (shards.empty()) shards.emplace_back(0, 0);  // an empty model is one empty file

  std::vector<std::string> names;
  for (std::size_t s = 0; s < shards.size(); ++s)
    names.push_back(shards.size() == 1 ? std::string(kSingleSafetensorsName)
                                       : shard_file_name(s + 1, shards.size()));

  std::vector<AtomicFile> files;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    const auto [begin, end] = shards[s];
    files.emplace_back(dir / names[s]);
    write_body(files.back(), tensors.subspan(begin, end - begin),
               std::span(sizes).subspan(begin, end - begin), options);
    files.back().sync();
  }

  RenamedFiles renamed;
  for (AtomicFile &f : files) {
    try {
      f.commit();
    } catch (...) {
      if (f.committed()) renamed.paths.push_back(f.target());  // renamed, then the dir fsync failed
      throw;
    }
    renamed.paths.push_back(f.target());
  }
  if (shards.size() > 1) {
    json index;
    std::uint64_t total = 0;
    for (std::uint64_t n : sizes) total += n;
    index["metadata"]["total_size"] = total;
    json &map = index["weight_map"] = json::object();
    for (std::size_t s = 0; s < shards.size(); ++s)
      for (std::size_t i = shards[s].first; i < shards[s].second; ++i)
        map[tensors[i].name] = names[s];
    write_file_atomically(dir / kSafetensorsIndexName, index.dump(2) + "\n");
    names.emplace_back(kSafetensorsIndexName);
  }
  renamed.keep = true;
  return names;
}

}  // namespace gptq::io
