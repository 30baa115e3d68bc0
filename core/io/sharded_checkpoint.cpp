#include "core/io/sharded_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string_view>
#include <system_error>

#include "core/base/error.h"
#include "core/io/file_kind.h"
#include "core/io/json_parse.h"
#include "core/io/read_file.h"

namespace gptq::io {
namespace {

using json = nlohmann::json;

// Index files are a few hundred bytes per tensor; this leaves room for models
// with millions of tensors while refusing to read something absurd.
constexpr std::uint64_t kMaxIndexBytes = 256ull << 20;
// Root -> weight_map/metadata -> values; one more level of slack for metadata.
constexpr std::size_t kIndexMaxDepth = 4;

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

// A shard must be a plain file name in the model directory: an index must not
// be able to point us at arbitrary paths.
bool is_plain_file_name(const std::string &name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

bool is_file(const std::filesystem::path &p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);  // follows links (the HF cache's are links)
}

constexpr std::string_view kSafetensors = ".safetensors";
constexpr std::string_view kIndexSuffix = ".safetensors.index.json";

// The visible regular files of `dir` whose names end with `suffix`, sorted.
std::vector<std::string> files_ending_with(const std::filesystem::path &dir, std::string_view suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || !ends_with(name, suffix)) continue;
    if (is_file(it->path())) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string listed(const std::vector<std::string> &names) {
  std::string s;
  for (const std::string &n : names) s += (s.empty() ? "" : ", ") + in_quotes(n);
  return s;
}

// The file open() reads: an index or a single safetensors file (see the header).
struct Located {
  std::filesystem::path path;
  bool index = false;
};

Located locate(const std::filesystem::path &dir, std::string_view named) {
  if (!named.empty()) {
    const std::string name(named);
    if (!is_plain_file_name(name))
      fail(Status::Format, dir.string() + ": the checkpoint name " + in_quotes(name) +
                               " (model_file_base_name) is not a file name in the model directory");
    // A base name, as AutoGPTQ writes it; some configs carry the extension too.
    const std::string base = ends_with(name, kSafetensors) ? name.substr(0, name.size() - kSafetensors.size()) : name;
    if (is_file(dir / (base + std::string(kIndexSuffix)))) return {dir / (base + std::string(kIndexSuffix)), true};
    if (is_file(dir / (base + std::string(kSafetensors)))) return {dir / (base + std::string(kSafetensors)), false};
  }
  if (is_file(dir / kSafetensorsIndexName)) return {dir / kSafetensorsIndexName, true};
  if (is_file(dir / kSingleSafetensorsName)) return {dir / kSingleSafetensorsName, false};
  const std::vector<std::string> indexes = files_ending_with(dir, kIndexSuffix);
  const std::vector<std::string> files = files_ending_with(dir, kSafetensors);
  if (!named.empty())
    fail(Status::Io, dir.string() + ": the config names the checkpoint " + in_quotes(named) +
                         " (model_file_base_name), but there is no " + in_quotes(std::string(named) + std::string(kSafetensors)) +
                         " or its index, nor " + in_quotes(kSingleSafetensorsName) +
                         (files.empty() ? std::string("; the directory holds no .safetensors file")
                                        : "; the directory holds " + listed(files)));
  if (indexes.size() == 1) return {dir / indexes.front(), true};
  if (indexes.size() > 1)
    fail(Status::Format, dir.string() + ": several checkpoint indexes (" + listed(indexes) +
                             ") and no " + in_quotes(kSafetensorsIndexName) + "; keep one");
  if (files.size() == 1) return {dir / files.front(), false};
  if (files.size() > 1)
    fail(Status::Format, dir.string() + ": several .safetensors files (" + listed(files) + ") and no " +
                             in_quotes(kSafetensorsIndexName) +
                             " listing them; add the index, or name the file in quantize_config.json's "
                             "model_file_base_name");
  fail(Status::Io, dir.string() + ": no " + std::string(kSafetensorsIndexName) + " or " +
                       std::string(kSingleSafetensorsName) + " (nor any other .safetensors file) in the model directory");
}

}  // namespace

struct ShardedCheckpoint::Impl {
  struct Shard {
    std::string file_name;
    std::vector<std::string> assigned;  // tensors the index puts in this shard
    std::unique_ptr<SafetensorsFile> file;
  };

  std::filesystem::path dir;
  std::filesystem::path source;      // the index or the single file
  std::filesystem::path index_path;  // empty for a single file
  std::vector<std::string> names;
  std::map<std::string, std::size_t, std::less<>> shard_index;  // tensor -> shards[i]
  std::vector<Shard> shards;
  std::optional<std::uint64_t> total_size;
  std::mutex mutex;

  const SafetensorsFile &shard_file(std::size_t i) {
    std::lock_guard lock(mutex);
    Shard &shard = shards[i];
    if (!shard.file) {
      auto file = std::make_unique<SafetensorsFile>(SafetensorsFile::open(dir / shard.file_name));
      for (const std::string &name : shard.assigned)
        if (!file->contains(name))
          fail(Status::Format, index_path.string() + ": tensor " + in_quotes(name) +
                                   " is mapped to shard " + in_quotes(shard.file_name) + ", but " +
                                   file->source() + " has no such tensor");
      shard.file = std::move(file);
    }
    return *shard.file;
  }

  void load_index() {
    const std::string src = index_path.string();
    const json index = parse_json_strict(read_text_file(index_path, kMaxIndexBytes), src,
                                         kIndexMaxDepth);
    if (!index.is_object())
      fail(Status::Format, src + ": index is " + json_type_description(index) +
                               ", expected a JSON object");
    if (auto meta = index.find("metadata"); meta != index.end() && !meta->is_null()) {
      if (!meta->is_object())
        fail(Status::Format, src + ": field 'metadata' is " + json_type_description(*meta) +
                                 ", expected an object");
      if (auto size = meta->find("total_size"); size != meta->end()) {
        // The Python tooling sometimes writes it as a float; accept whole numbers
        // (checked before the cast: converting an out-of-range double is UB).
        const bool whole_float = size->is_number_float() && size->get<double>() >= 0 &&
                                 size->get<double>() < 18446744073709551616.0 &&
                                 size->get<double>() == std::floor(size->get<double>());
        if (size->is_number_unsigned())
          total_size = size->get<std::uint64_t>();
        else if (whole_float)
          total_size = static_cast<std::uint64_t>(size->get<double>());
        else
          fail(Status::Format, src + ": field 'metadata.total_size' is " +
                                   (size->is_number() ? size->dump() : json_type_description(*size)) +
                                   ", expected a non-negative integer");
      }
    }
    auto map = index.find("weight_map");
    if (map == index.end()) fail(Status::Format, src + ": missing field 'weight_map'");
    if (!map->is_object())
      fail(Status::Format, src + ": field 'weight_map' is " + json_type_description(*map) +
                               ", expected an object");
    std::map<std::string, std::size_t> shard_by_file;
    for (const auto &[name, file_value] : map->items()) {
      if (!file_value.is_string())
        fail(Status::Format, src + ": weight_map entry for tensor " + in_quotes(name) + " is " +
                                 json_type_description(file_value) + ", expected a file name");
      const std::string &file_name = file_value.get_ref<const std::string &>();
      if (!is_plain_file_name(file_name))
        fail(Status::Format, src + ": weight_map entry for tensor " + in_quotes(name) +
                                 " names " + in_quotes(file_name) +
                                 ", which is not a file name in the model directory");
      auto [it, added] = shard_by_file.emplace(file_name, shards.size());
      if (added) {
        if (const auto why = why_not_regular_file(dir / file_name))
          fail(Status::Io, src + ": shard " + in_quotes(file_name) + " (holding tensor " + in_quotes(name) +
                               ") " + *why + ": " + (dir / file_name).string());
        shards.push_back({file_name, {}, nullptr});
      }
      shards[it->second].assigned.push_back(name);
      shard_index.emplace(name, it->second);
      names.push_back(name);  // weight_map is an ordered map: names arrive sorted
    }
  }

  void load_single(const std::filesystem::path &file) {
    shards.push_back({file.filename().string(), {},
                      std::make_unique<SafetensorsFile>(SafetensorsFile::open(file))});
    for (const TensorEntry &e : shards[0].file->entries()) {
      shard_index.emplace(e.name, 0);
      names.push_back(e.name);
    }
    std::sort(names.begin(), names.end());
  }

  std::size_t index_of(std::string_view name) const {
    auto it = shard_index.find(name);
    if (it == shard_index.end())
      fail(Status::Format, dir.string() + ": the checkpoint has no tensor " + in_quotes(name));
    return it->second;
  }
};

ShardedCheckpoint::ShardedCheckpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ShardedCheckpoint::ShardedCheckpoint(ShardedCheckpoint &&) noexcept = default;
ShardedCheckpoint &ShardedCheckpoint::operator=(ShardedCheckpoint &&) noexcept = default;
ShardedCheckpoint::~ShardedCheckpoint() = default;

ShardedCheckpoint ShardedCheckpoint::open(const std::filesystem::path &dir, std::string_view named) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  const Located found = locate(dir, named);
  impl->source = found.path;
  if (found.index) {
    impl->index_path = found.path;
    impl->load_index();
  } else {
    impl->load_single(found.path);
  }
  return ShardedCheckpoint(std::move(impl));
}

const std::filesystem::path &ShardedCheckpoint::directory() const noexcept { return impl_->dir; }

const std::filesystem::path &ShardedCheckpoint::source() const noexcept { return impl_->source; }

void ShardedCheckpoint::open_all_shards() const {
  for (std::size_t i = 0; i < impl_->shards.size(); ++i) impl_->shard_file(i);
}

const std::vector<std::string> &ShardedCheckpoint::tensor_names() const noexcept {
  return impl_->names;
}

bool ShardedCheckpoint::contains(std::string_view name) const {
  return impl_->shard_index.contains(name);
}

const std::string &ShardedCheckpoint::shard_of(std::string_view name) const {
  return impl_->shards[impl_->index_of(name)].file_name;
}

TensorView ShardedCheckpoint::tensor(std::string_view name) const {
  return impl_->shard_file(impl_->index_of(name)).tensor(name);
}

std::optional<TensorView> ShardedCheckpoint::find(std::string_view name) const {
  auto it = impl_->shard_index.find(name);
  if (it == impl_->shard_index.end()) return std::nullopt;
  return impl_->shard_file(it->second).tensor(name);
}

void ShardedCheckpoint::release(std::string_view name) const noexcept {
  const auto it = impl_->shard_index.find(name);
  if (it == impl_->shard_index.end()) return;
  std::lock_guard lock(impl_->mutex);
  if (const auto &file = impl_->shards[it->second].file) file->release(name);
}

std::optional<std::uint64_t> ShardedCheckpoint::total_size() const noexcept {
  return impl_->total_size;
}

std::size_t ShardedCheckpoint::shard_count() const noexcept { return impl_->shards.size(); }

std::size_t ShardedCheckpoint::opened_shard_count() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const auto &shard : impl_->shards) n += shard.file != nullptr;
  return n;
}

}  // namespace gptq::io
