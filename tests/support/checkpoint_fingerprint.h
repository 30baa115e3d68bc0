// What a golden computed from a checkpoint records about it, so a test that
// makes the checkpoint itself can first tell whether it made that very one:
// for every tensor, by name, its dtype, shape and the SHA-256 of its bytes as
// stored. tests/reference/checkpoint_fingerprint.py computes the same on the
// machine that writes the golden. Over tensors rather than files: the
// safetensors header (its metadata, the order of entries, the shards) may
// change without changing what a reader gets.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "core/io/sharded_checkpoint.h"
#include "core/tensor/dtype.h"
#include "tests/support/sha256.h"

namespace gptq::testing {

// {name: {"dtype": "F16", "shape": [...], "sha256": "..."}} over every tensor.
inline nlohmann::json checkpoint_fingerprint(const std::filesystem::path &dir) {
  const io::ShardedCheckpoint ckpt = io::ShardedCheckpoint::open(dir);
  nlohmann::json out = nlohmann::json::object();
  for (const std::string &name : ckpt.tensor_names()) {
    const io::TensorView t = ckpt.tensor(name);
    out[name] = {{"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape}, {"sha256", sha256_hex(t.data)}};
  }
  return out;
}

// One line per tensor missing, extra or different ("" when none), the first
// `limit` of them and a count of the rest.
inline std::string fingerprint_differences(const nlohmann::json &want, const nlohmann::json &got,
                                           std::size_t limit = 8) {
  std::string lines;
  std::size_t count = 0;
  const auto note = [&](const std::string &line) {
    if (count++ < limit) lines += "  " + line + "\n";
  };
  for (const auto &[name, w] : want.items()) {
    if (!got.contains(name))
      note(name + ": in the reference's checkpoint, not in ours");
    else if (got[name] != w)
      note(name + ": reference " + w.dump() + ", ours " + got[name].dump());
  }
  for (const auto &[name, g] : got.items())
    if (!want.contains(name)) note(name + ": in our checkpoint, not in the reference's");
  if (count > limit) lines += "  ... and " + std::to_string(count - limit) + " more\n";
  return lines;
}

}  // namespace gptq::testing
