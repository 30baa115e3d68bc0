#include "core/gptq_format/gptq_checkpoint_writer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

#include "core/base/error.h"
#include "core/io/atomic_file.h"
#include "core/io/file_kind.h"
#include "core/gptq_format/gptq_config_json.h"
#include "core/io/json_parse.h"
#include "core/io/read_file.h"
#include "core/io/safetensors_writer.h"
#include "core/io/sharded_checkpoint.h"
#include "core/io/spill_file.h"
#include "core/gptq_format/checkpoint_format.h"
#include "core/gptq_format/modules_to_skip.h"
#include "core/gptq_format/quantization_config.h"
#include "core/io/staging_directory.h"
#include "core/tensor/convert.h"
#include "core/tensor/half.h"
#include "core/tensor/shape_text.h"

namespace gptq::io {
namespace {

// Files of a model directory that a GPTQ checkpoint keeps unchanged: the
// tokenizer in its HF forms, chat templates and generation defaults.
constexpr const char *kCopiedFiles[] = {
    "tokenizer.json",      "tokenizer_config.json", "special_tokens_map.json",
    "tokenizer.model",     "vocab.json",            "merges.txt",
    "added_tokens.json",   "chat_template.jinja",   "chat_template.json",
    "generation_config.json",
};
constexpr std::uint64_t kMaxCopiedFileBytes = std::uint64_t{1} << 30;
constexpr std::uint64_t kMaxConfigBytes = 16u << 20;
constexpr std::size_t kConfigMaxDepth = 64;
constexpr std::uint64_t kMaxQuantizeConfigBytes = 1u << 20;

// model-00001-of-00002.safetensors, as shard_file_name writes it.
bool is_shard_name(std::string_view name) {
  const auto digits = [&](std::size_t from) {
    for (std::size_t i = from; i < from + 5; ++i)
      if (name[i] < '0' || name[i] > '9') return false;
    return true;
  };
  return name.size() == 32 && name.starts_with("model-") && digits(6) && name.substr(11, 4) == "-of-" &&
         digits(15) && name.ends_with(".safetensors");
}

// Whether the writer gives a file this name.
bool is_written_name(std::string_view name) {
  if (name == "config.json" || name == "quantize_config.json" || name == kSingleSafetensorsName ||
      name == kSafetensorsIndexName || is_shard_name(name))
    return true;
  return std::find(std::begin(kCopiedFiles), std::end(kCopiedFiles), name) != std::end(kCopiedFiles);
}

[[noreturn]] void invalid(const std::string &prefix, const std::string &what) {
  fail(Status::InvalidArgument, "GPTQ checkpoint writer: layer '" + prefix + "': " + what);
}

template <class T>
std::span<const std::byte> bytes_of(const std::vector<T> &v) {
  return std::as_bytes(std::span<const T>(v));
}

// A tensor parked in the spill file until finish().
struct Parked {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t offset;
  std::uint64_t bytes;
};

void check_packed(const std::string &prefix, const quant::PackedGptq &p,
                  const schema::QuantizeConfigT &config, const TensorView &weight) {
  const std::int64_t n = p.out_features, k = p.in_features;
  if (weight.shape.size() != 2 || weight.shape[0] != n || weight.shape[1] != k)
    invalid(prefix, "the quantized layer is [" + std::to_string(n) + ", " + std::to_string(k) +
                        "] but the source's " + weight.name + " is " + shape_text(weight.shape));
  if (p.bits != config.bits)
    invalid(prefix, "quantized with " + std::to_string(p.bits) + " bits, the config says " +
                        std::to_string(config.bits));
  const std::int64_t groups =
      config.group_size == -1 ? 1 : (k + config.group_size - 1) / config.group_size;
  if (p.groups != groups)
    invalid(prefix, "has " + std::to_string(p.groups) + " groups, group_size " +
                        std::to_string(config.group_size) + " over " + std::to_string(k) +
                        " columns gives " + std::to_string(groups));
  const auto size = [](std::int64_t v) { return static_cast<std::size_t>(v); };
  if (p.qweight.size() != size(k * p.bits / 32 * n) || p.qzeros.size() != size(groups * n * p.bits / 32) ||
      p.scales.size() != size(groups * n) || p.g_idx.size() != size(k))
    invalid(prefix, "the packed tensors' sizes do not match its shape (not made by pack_gptq?)");
}

}  // namespace

std::optional<std::string> why_not_libgptq_checkpoint(const std::filesystem::path &dir) {
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0) return "cannot look at " + name + ": " + std::strerror(errno);
    if (!S_ISREG(st.st_mode))
      return "it holds " + name + ", which is " + file_kind(st.st_mode) +
             "; a checkpoint written by libgptq holds only regular files";
    if (!is_written_name(name)) return "it holds " + name + ", a file libgptq does not write";
  }
  if (ec) return "cannot list it: " + ec.message();
  const auto path = dir / "quantize_config.json";
  try {
    const nlohmann::json q =
        parse_json_strict(read_text_file(path, kMaxQuantizeConfigBytes), path.string(), kConfigMaxDepth);
    if (!written_by_libgptq(q))
      return "it is not a checkpoint written by libgptq (its quantize_config.json has no \"" +
             std::string(kLibgptqQuantizerPrefix) + "...\" entry in meta.quantizer)";
  } catch (const Error &e) {
    return "it is not a checkpoint written by libgptq (" + std::string(e.what()) + ")";
  }
  return std::nullopt;
}

struct GptqCheckpointWriter::Impl {
  Impl(const ShardedCheckpoint &source_weights, const schema::QuantizeConfigT &quantize_config,
       BlockLinears block_linears, std::filesystem::path out_dir, GptqCheckpointOptions write_options)
      : source(source_weights), config(quantize_config), blocks(std::move(block_linears)),
        options(write_options), staging(std::move(out_dir), staging_options(source_weights, write_options)),
        spill(staging.path()) {}

  static StagingOptions staging_options(const ShardedCheckpoint &source, const GptqCheckpointOptions &o) {
    StagingOptions s;
    s.overwrite = o.overwrite;
    s.why_not_replaceable = why_not_libgptq_checkpoint;
    s.inputs = {{source.directory(), "the source model's directory"}};
    s.notice = o.notice;
    return s;
  }

  const ShardedCheckpoint &source;
  schema::QuantizeConfigT config;
  BlockLinears blocks;
  GptqCheckpointOptions options;
  StagingDirectory staging;
  SpillFile spill;
  std::vector<Parked> parked;
  bool finished = false;

  void park(std::string name, DType dtype, std::vector<std::int64_t> shape,
            std::span<const std::byte> data) {
    const std::uint64_t offset = spill.append(data);
    parked.push_back({std::move(name), dtype, std::move(shape), offset, data.size()});
  }

  void check_every_linear_handled(const std::set<std::string> &quantized) const {
    for (const std::string &block : blocks.block_prefixes)
      for (const auto &group : blocks.sequential_groups)
        for (const std::string &sub : group) {
          const std::string name = block + sub;
          if (!quantized.count(name) && !quant::is_module_skipped(config, name) &&
              source.contains(name + ".weight"))
            fail(Status::InvalidArgument,
                 "GPTQ checkpoint writer: linear '" + name +
                     "' was neither quantized nor listed in modules_to_skip");
        }
  }

  void write_configs(const std::set<std::string> &quantized) {
    const auto dir = source.directory();
    const std::string config_path = (dir / "config.json").string();
    nlohmann::json cfg =
        parse_json_strict(read_text_file(dir / "config.json", kMaxConfigBytes), config_path,
                          kConfigMaxDepth);
    const nlohmann::json q = gptq_quantization_config(quant::quantization_config(config), blocks, quantized);
    cfg["quantization_config"] = q;
    write_file_atomically(staging.path() / "config.json", cfg.dump(2) + "\n");
    write_file_atomically(staging.path() / "quantize_config.json", q.dump(2) + "\n");
    for (const char *name : kCopiedFiles) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(dir / name, ec)) continue;
      write_file_atomically(staging.path() / name, read_text_file(dir / name, kMaxCopiedFileBytes));
    }
  }
};

GptqCheckpointWriter::GptqCheckpointWriter(const ShardedCheckpoint &source,
                                           const schema::QuantizeConfigT &config, BlockLinears blocks,
                                           std::filesystem::path out_dir,
                                           GptqCheckpointOptions options) {
  const auto config_path = source.directory() / "config.json";
  const nlohmann::json source_config =
      parse_json_strict(read_text_file(config_path, kMaxConfigBytes), config_path.string(), kConfigMaxDepth);
  if (source_config.is_object() && source_config.contains("quantization_config"))
    fail(Status::InvalidArgument, "GPTQ checkpoint writer: the source " + source.directory().string() +
                                      " is already a GPTQ checkpoint; quantize a float model");
  impl_ = std::make_unique<Impl>(source, config, std::move(blocks), std::move(out_dir), options);
}

GptqCheckpointWriter::~GptqCheckpointWriter() = default;

const std::filesystem::path &GptqCheckpointWriter::out_dir() const noexcept {
  return impl_->staging.target();
}

void GptqCheckpointWriter::add_quantized(const std::string &prefix,
                                         const quant::PackedGptq &packed) {
  if (impl_->finished) invalid(prefix, "added after finish()");
  if (quantized_.count(prefix)) invalid(prefix, "added twice");
  const auto &weights = impl_->source;
  const auto weight = weights.find(prefix + ".weight");
  if (!weight) invalid(prefix, "the source model has no tensor '" + prefix + ".weight'");
  check_packed(prefix, packed, impl_->config, *weight);

  const quant::CheckpointFormat format = quant::checkpoint_format(impl_->config);
  std::optional<quant::PackedGptq> converted;
  if (packed.format != format) {
    converted = packed;
    quant::convert_checkpoint_format(*converted, format);
  }
  const quant::PackedGptq &p = converted ? *converted : packed;
  const std::int64_t n = p.out_features, k = p.in_features, g = p.groups;
  impl_->park(prefix + ".qweight", DType::I32, {k * p.bits / 32, n}, bytes_of(p.qweight));
  impl_->park(prefix + ".qzeros", DType::I32, {g, n * p.bits / 32}, bytes_of(p.qzeros));
  impl_->park(prefix + ".scales", DType::F16, {g, n}, bytes_of(p.scales));
  impl_->park(prefix + ".g_idx", DType::I32, {k}, bytes_of(p.g_idx));
  if (const auto bias = weights.find(prefix + ".bias")) {
    if (bias->shape != std::vector<std::int64_t>{n})
      invalid(prefix, "the source's bias is " + shape_text(bias->shape) + ", expected [" +
                          std::to_string(n) + "]");
    if (bias->dtype == DType::F16) {
      impl_->park(prefix + ".bias", DType::F16, {n}, bias->data);
    } else {
      // Peers' QuantLinear keeps its bias in fp16.
      const std::vector<float> f = to_float(bias->dtype, bias->data);
      std::vector<std::uint16_t> h(f.size());
      std::transform(f.begin(), f.end(), h.begin(), float_to_half);
      impl_->park(prefix + ".bias", DType::F16, {n}, bytes_of(h));
    }
  }
  quantized_.insert(prefix);
}

void GptqCheckpointWriter::finish(const Progress &progress) {
  Impl &im = *impl_;
  if (im.finished) fail(Status::InvalidArgument, "GPTQ checkpoint writer: finish() called twice");
  im.check_every_linear_handled(quantized_);

  std::vector<TensorSource> tensors;
  std::uint64_t total = 0;
  std::uint64_t done = 0;
  auto report = [&progress, &done, &total](std::size_t n) {
    done += n;
    progress.report("write checkpoint", done, total);
  };
  const auto &weights = im.source;
  for (const std::string &name : weights.tensor_names()) {
    const auto dot = name.rfind('.');
    const std::string owner = dot == std::string::npos ? std::string() : name.substr(0, dot);
    const std::string_view leaf = dot == std::string::npos ? std::string_view() : std::string_view(name).substr(dot + 1);
    if (quantized_.count(owner) && (leaf == "weight" || leaf == "bias")) continue;
    TensorView view = weights.tensor(name);
    TensorSource t{view.name, view.dtype, view.shape, {}, {}};
    const std::span<const std::byte> data = view.data;
    if (!data.empty())
      t.fill = [data, report, &weights, name](std::span<std::byte> chunk, std::uint64_t offset) {
        std::memcpy(chunk.data(), data.data() + offset, chunk.size());
        if (offset + chunk.size() == data.size()) weights.release(name);  // copied: drop its pages
        report(chunk.size());
      };
    total += data.size();
    tensors.push_back(std::move(t));
  }
  for (const Parked &p : im.parked) {
    TensorSource t{p.name, p.dtype, p.shape, {}, {}};
    if (p.bytes)
      t.fill = [&im, offset0 = p.offset, report](std::span<std::byte> chunk, std::uint64_t offset) {
        im.spill.read(offset0 + offset, chunk);
        report(chunk.size());
      };
    total += p.bytes;
    tensors.push_back(std::move(t));
  }
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorSource &a, const TensorSource &b) { return a.name < b.name; });
  progress.report("write checkpoint", 0, total);

  SafetensorsWriteOptions write_options;
  write_options.max_shard_bytes = im.options.max_shard_bytes;
  write_safetensors_checkpoint(im.staging.path(), tensors, write_options);
  im.write_configs(quantized_);
  im.staging.commit();
  im.finished = true;
}

}  // namespace gptq::io
