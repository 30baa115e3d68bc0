#include "core/io/safetensors_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>

#include "core/base/error.h"
#include "core/io/json_parse.h"
#include "core/tensor/shape_text.h"

namespace gptq::io {
namespace {

using json = nlohmann::json;

// Root object -> tensor entry -> shape array: nothing valid nests deeper.
constexpr std::size_t kHeaderMaxDepth = 3;

// dtypes the safetensors format defines that we do not handle: reported as
// Unsupported (a valid file we cannot use) rather than Format (a corrupt one).
constexpr std::array<std::string_view, 11> kOtherSafetensorsDtypes{
    "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
    "C64"};

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

std::uint64_t read_le64(const std::byte *p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint64_t>(p[i]);
  return v;
}

// The named field of a tensor entry, or a Format error naming file, tensor, field.
const json &field(const json &entry, const char *name, const std::string &where) {
  auto it = entry.find(name);
  if (it == entry.end()) fail(Status::Format, where + ": missing field '" + name + "'");
  return *it;
}

DType parse_dtype(const json &value, const std::string &where) {
  if (!value.is_string())
    fail(Status::Format,
         where + ": field 'dtype' is " + json_type_description(value) + ", expected a string");
  const std::string &name = value.get_ref<const std::string &>();
  if (auto dtype = dtype_from_name(name)) return *dtype;
  if (std::find(kOtherSafetensorsDtypes.begin(), kOtherSafetensorsDtypes.end(), name) !=
      kOtherSafetensorsDtypes.end())
    fail(Status::Unsupported, where + ": dtype " + in_quotes(name) + " is not supported");
  fail(Status::Format, where + ": unknown dtype " + in_quotes(name));
}

std::vector<std::int64_t> parse_shape(const json &value, const std::string &where) {
  if (!value.is_array())
    fail(Status::Format,
         where + ": field 'shape' is " + json_type_description(value) + ", expected an array");
  std::vector<std::int64_t> shape;
  shape.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const json &dim = value[i];
    if (!dim.is_number_unsigned() ||
        dim.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail(Status::Format, where + ": shape[" + std::to_string(i) + "] is " +
                               (dim.is_number() ? dim.dump() : json_type_description(dim)) +
                               ", expected a non-negative integer");
    shape.push_back(static_cast<std::int64_t>(dim.get<std::uint64_t>()));
  }
  return shape;
}

std::pair<std::uint64_t, std::uint64_t> parse_offsets(const json &value, const std::string &where) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_unsigned() ||
      !value[1].is_number_unsigned())
    fail(Status::Format, where + ": field 'data_offsets' must be [begin, end] with non-negative "
                                 "integers, found " +
                             (value.is_array() && value.size() <= 2 ? value.dump()
                                                                    : json_type_description(value)));
  return {value[0].get<std::uint64_t>(), value[1].get<std::uint64_t>()};
}

// Bytes that dtype x shape needs, or nullopt on overflow of 64 bits.
std::optional<std::uint64_t> byte_size(DType dtype, const std::vector<std::int64_t> &shape) {
  std::uint64_t n = dtype_size(dtype);
  for (std::int64_t d : shape)
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n)) return std::nullopt;
  return n;
}

TensorEntry parse_entry(const std::string &name, const json &value, std::uint64_t data_size,
                        const std::string &source) {
  const std::string where = source + ": tensor " + in_quotes(name);
  if (!value.is_object())
    fail(Status::Format, where + ": entry is " + json_type_description(value) + ", expected an object");
  TensorEntry entry;
  entry.name = name;
  entry.dtype = parse_dtype(field(value, "dtype", where), where);
  entry.shape = parse_shape(field(value, "shape", where), where);
  std::tie(entry.begin, entry.end) = parse_offsets(field(value, "data_offsets", where), where);
  const std::string offsets =
      "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "]";
  if (entry.begin > entry.end)
    fail(Status::Format, where + ": " + offsets + " end before they begin");
  if (entry.end > data_size)
    fail(Status::Format, where + ": " + offsets + " run past the end of the data section (" +
                             std::to_string(data_size) + " bytes)");
  const auto needed = byte_size(entry.dtype, entry.shape);
  if (!needed)
    fail(Status::Format, where + ": shape " + shape_text(entry.shape) + " of " +
                             std::string(dtype_name(entry.dtype)) + " overflows 64-bit sizes");
  if (*needed != entry.end - entry.begin)
    fail(Status::Format, where + ": " + offsets + " hold " + std::to_string(entry.end - entry.begin) +
                             " bytes, but " + std::string(dtype_name(entry.dtype)) + " " +
                             shape_text(entry.shape) + " needs " + std::to_string(*needed));
  return entry;
}

std::map<std::string, std::string> parse_metadata(const json &value, const std::string &source) {
  const std::string where = source + ": '__metadata__'";
  if (!value.is_object())
    fail(Status::Format, where + " is " + json_type_description(value) + ", expected an object");
  std::map<std::string, std::string> out;
  for (const auto &[key, v] : value.items()) {
    if (!v.is_string())
      fail(Status::Format, where + " key " + in_quotes(key) + " is " + json_type_description(v) +
                               ", expected a string");
    out.emplace(key, v.get<std::string>());
  }
  return out;
}

// Entries sorted by offset must tile the data section exactly: no overlap, no
// gap, nothing after the last one. (Readers elsewhere rely on this, and an
// overlap would let two tensors alias.)
void check_coverage(std::vector<TensorEntry> &entries, std::uint64_t data_size,
                    const std::string &source) {
  std::sort(entries.begin(), entries.end(), [](const TensorEntry &a, const TensorEntry &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  const TensorEntry *previous = nullptr;
  for (const TensorEntry &e : entries) {
    const std::string where = source + ": tensor " + in_quotes(e.name);
    if (e.begin < covered)
      fail(Status::Format, where + ": data_offsets [" + std::to_string(e.begin) + ", " +
                               std::to_string(e.end) + "] overlap tensor " +
                               in_quotes(previous->name) + " [" + std::to_string(previous->begin) +
                               ", " + std::to_string(previous->end) + "]");
    if (e.begin > covered)
      fail(Status::Format, where + ": gap in the data section: bytes [" + std::to_string(covered) +
                               ", " + std::to_string(e.begin) + ") belong to no tensor");
    covered = e.end;
    previous = &e;
  }
  if (covered != data_size)
    fail(Status::Format, source + ": bytes [" + std::to_string(covered) + ", " +
                             std::to_string(data_size) +
                             ") at the end of the data section belong to no tensor" +
                             (previous ? " (last tensor " + in_quotes(previous->name) + ")" : ""));
}

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

std::int64_t TensorView::numel() const noexcept {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

// The read-only mapping of an opened file; unmapped on destruction.
struct SafetensorsFile::Mapping {
  void *address = nullptr;
  std::size_t length = 0;
  Mapping(void *a, std::size_t n) : address(a), length(n) {}
  Mapping(const Mapping &) = delete;
  Mapping &operator=(const Mapping &) = delete;
  ~Mapping() { ::munmap(address, length); }
};

SafetensorsFile::SafetensorsFile(SafetensorsFile &&) noexcept = default;
SafetensorsFile &SafetensorsFile::operator=(SafetensorsFile &&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

SafetensorsFile SafetensorsFile::from_memory(std::span<const std::byte> bytes, std::string source) {
  SafetensorsFile file;
  file.source_ = std::move(source);
  file.bytes_ = bytes;
  const std::string &src = file.source_;
  if (bytes.size() < 8)
    fail(Status::Format, src + ": file is " + std::to_string(bytes.size()) +
                             " bytes, too short for the 8-byte header length");
  const std::uint64_t header_len = read_le64(bytes.data());
  if (header_len > kMaxSafetensorsHeaderBytes)
    fail(Status::Format, src + ": header length " + std::to_string(header_len) +
                             " exceeds the limit of " + std::to_string(kMaxSafetensorsHeaderBytes) +
                             " bytes");
  if (header_len > bytes.size() - 8)
    fail(Status::Format, src + ": header length " + std::to_string(header_len) +
                             " runs past the end of the file (" + std::to_string(bytes.size()) +
                             " bytes)");
  file.data_offset_ = 8 + header_len;
  const std::uint64_t data_size = bytes.size() - file.data_offset_;

  const std::string_view text(reinterpret_cast<const char *>(bytes.data() + 8), header_len);
  const json header = parse_json_strict(text, src, kHeaderMaxDepth);
  if (!header.is_object())
    fail(Status::Format,
         src + ": header is " + json_type_description(header) + ", expected a JSON object");

  for (const auto &[name, value] : header.items()) {
    if (name == "__metadata__") {
      file.metadata_ = parse_metadata(value, src);
      continue;
    }
    file.entries_.push_back(parse_entry(name, value, data_size, src));
  }
  check_coverage(file.entries_, data_size, src);
  for (std::size_t i = 0; i < file.entries_.size(); ++i)
    file.by_name_.emplace(file.entries_[i].name, i);
  return file;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path &path) {
  const std::string src = path.string();
  const int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(Status::Io, src + ": cannot open: " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail(Status::Io, src + ": cannot stat: " + errno_text(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(Status::Io, src + ": not a regular file");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(Status::Format, src + ": file is " + std::to_string(size) +
                             " bytes, too short for the 8-byte header length");
  }
  void *address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_err = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (address == MAP_FAILED) fail(Status::Io, src + ": cannot mmap: " + errno_text(map_err));
  auto mapping = std::make_unique<Mapping>(address, size);
  SafetensorsFile file =
      from_memory(std::span(static_cast<const std::byte *>(address), size), src);
  file.mapping_ = std::move(mapping);
  return file;
}

bool SafetensorsFile::contains(std::string_view name) const { return by_name_.contains(name); }

void SafetensorsFile::release(std::string_view name) const noexcept {
  if (!mapping_) return;
  const auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  const TensorEntry &e = entries_[it->second];
  // Whole pages around the tensor: a neighbour sharing an edge page just
  // reads it again from the file if it needs it.
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto base = reinterpret_cast<std::uintptr_t>(mapping_->address);
  const std::uintptr_t begin = (base + data_offset_ + e.begin) / page * page;
  const std::uintptr_t end = std::min(base + mapping_->length, base + data_offset_ + e.end);
  if (end > begin) ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

TensorView SafetensorsFile::view(const TensorEntry &entry) const {
  return TensorView{entry.name, entry.dtype, entry.shape,
                    bytes_.subspan(data_offset_ + entry.begin, entry.end - entry.begin)};
}

std::optional<TensorView> SafetensorsFile::find(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return view(entries_[it->second]);
}

TensorView SafetensorsFile::tensor(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end())
    fail(Status::Format, source_ + ": no tensor " + in_quotes(name));
  return view(entries_[it->second]);
}

}  // namespace gptq::io
