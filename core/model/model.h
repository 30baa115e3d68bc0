// Model: an opened Hugging Face model directory — its config (ModelSpec) and
// its weights (memory-mapped lazily). Read-only once opened, so one Model may
// be used from several threads at once.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "core/io/sharded_checkpoint.h"
#include "core/model/model_config.h"
#include "schema/gptq_generated.h"

namespace gptq::model {

class Model {
 public:
  // Reads dir/config.json and the checkpoint's index or header. Throws
  // Error(Io) for a missing directory or file, Error(Format)/Unsupported for
  // content it cannot use, naming the file and field.
  static std::unique_ptr<Model> open(const std::filesystem::path &dir);

  const std::filesystem::path &directory() const { return dir_; }
  const ModelSpec &spec() const { return spec_; }
  const io::ShardedCheckpoint &weights() const { return weights_; }

  // What the model is, as the schema's ModelInfo (computed once, on first
  // use: it maps every shard to list the tensors).
  const schema::ModelInfoT &info() const;

 private:
  Model(std::filesystem::path dir, ModelSpec spec, io::ShardedCheckpoint weights);

  std::filesystem::path dir_;
  ModelSpec spec_;
  io::ShardedCheckpoint weights_;
  mutable std::once_flag info_once_;
  mutable schema::ModelInfoT info_;
};

}  // namespace gptq::model
