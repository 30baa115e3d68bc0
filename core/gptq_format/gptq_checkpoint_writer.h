// Writing a Hugging Face GPTQ checkpoint from a float source checkpoint and
// the quantized linears, as the layer-by-layer pipeline produces them. The
// writer knows the model only as its tensors (io::ShardedCheckpoint), its
// directory (config.json, tokenizer files) and its block linears by name
// (core/gptq_format/block_linears.h).
//
// Memory stays at one layer: add_quantized() packs nothing itself and parks
// the layer's tensors (qweight, qzeros, scales, g_idx and the bias as fp16)
// in an unlinked file of the staging directory at once; finish() streams
// them, and every other tensor of the source copied as is (embeddings,
// norms, lm_head stay float), into sharded safetensors
// (core/io/safetensors_writer.h). The output directory appears complete or
// not at all (core/io/staging_directory.h): destroying the writer before
// finish() returns, for an error or a cancellation, leaves nothing.
//
// The directory holds: model.safetensors or model-0000i-of-0000N.safetensors
// + model.safetensors.index.json; config.json = the source's with
// "quantization_config" added (core/gptq_format/gptq_config_json.h);
// quantize_config.json with the same object; and, copied unchanged when the
// source has them, the tokenizer files and generation_config.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/progress.h"
#include "core/gptq_format/block_linears.h"
#include "core/gptq_format/gptq_packing.h"
#include "core/io/sharded_checkpoint.h"
#include "schema/gptq_generated.h"

namespace gptq::io {

struct GptqCheckpointOptions {
  // Replace an existing out_dir (only once the new one is complete), when it
  // is empty or a checkpoint this writer wrote (why_not_libgptq_checkpoint).
  bool overwrite = false;
  // Most tensor bytes per shard, as transformers' max_shard_size (5 GB by
  // default there too); 0 means one file.
  std::uint64_t max_shard_bytes = 5'000'000'000;
  // Receives what was done besides writing: stale staging directories of
  // killed runs removed or left, an old out_dir not wholly deleted
  // (core/io/staging_directory.h). Unset: dropped.
  std::function<void(const std::string &)> notice;
};

// Why `dir` is not a checkpoint GptqCheckpointWriter wrote, or nullopt when it
// is one: its quantize_config.json says libgptq wrote it (meta.quantizer) and
// every entry is a regular file with a name the writer gives its files. Only
// such a directory (or an empty one) is replaced with overwrite: replacing it
// loses nothing but an older checkpoint of ours, where a directory holding a
// model, a user's file or a subdirectory would lose them.
std::optional<std::string> why_not_libgptq_checkpoint(const std::filesystem::path &dir);

class GptqCheckpointWriter {
 public:
  // `source` (the weights of a float model; a directory whose config.json
  // has a quantization_config is refused) must outlive the writer; `blocks`
  // names its decoder blocks' linears. Refuses out_dir (InvalidArgument),
  // before doing any work, when it
  // exists and overwrite is off or it may not be replaced, when it is "/",
  // holds the working directory, is, holds or lies inside the source model
  // directory (core/io/staging_directory.h).
  GptqCheckpointWriter(const ShardedCheckpoint &source, const schema::QuantizeConfigT &config,
                       BlockLinears blocks, std::filesystem::path out_dir, GptqCheckpointOptions options = {});
  GptqCheckpointWriter(const GptqCheckpointWriter &) = delete;
  GptqCheckpointWriter &operator=(const GptqCheckpointWriter &) = delete;
  ~GptqCheckpointWriter();

  // Takes the quantized linear `prefix` (e.g. "model.layers.0.self_attn.q_proj"):
  // the source must have `<prefix>.weight` of shape [out_features,
  // in_features]; bits and the number of groups must match the config
  // (group_size -1: 1 group); zero points are converted to the config's
  // checkpoint_format if given in the other. `<prefix>.bias`, when the source
  // has one, is written as fp16 beside them. Throws InvalidArgument naming
  // the prefix for a mismatch or a prefix given twice.
  void add_quantized(const std::string &prefix, const quant::PackedGptq &packed);

  // The prefixes added so far.
  const std::set<std::string> &quantized() const noexcept { return quantized_; }

  // Writes everything and moves the directory into place. Every linear of
  // the decoder blocks must have been added or be listed in the config's
  // modules_to_skip (InvalidArgument naming the first one that is neither).
  // `progress` (stage "write checkpoint", bytes) may cancel: Error(Cancelled)
  // and nothing is left. Call once.
  void finish(const Progress &progress = Progress());

  const std::filesystem::path &out_dir() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::set<std::string> quantized_;
};

}  // namespace gptq::io
