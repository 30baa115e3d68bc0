// The checks a float model's files get before long work starts. Quantization
// reads the weights one block at a time, so a flaw in the last block used to
// surface only after all the others were done (a missing tensor of layer 6
// at 82%), and RTN, which never loads the embeddings or norms, copied a
// wrong-shaped one into its output and succeeded.
//
// preflight_float_checkpoint(): every shard of the checkpoint is mapped and
// its header validated (ShardedCheckpoint::open_all_shards); every tensor
// config.json implies (core/model/expected_tensors.h) is present, with that
// shape and a float dtype (F16, BF16, F32); no linear holds both .weight and
// .qweight. It reads no tensor data, so it costs the headers only: NaN and
// infinities are found as each tensor is converted (core/model/
// float_tensor.h). Tensors the config does not imply are left alone (old
// checkpoints carry rotary inv_freq buffers; AutoGPTQ added zero biases).
#pragma once

namespace gptq::model {

class Model;

// Throws Error(Format) naming the file or tensor and what was expected
// (Error(Io)/Error(Format) from the shard itself for a broken shard).
void preflight_float_checkpoint(const Model &model);

}  // namespace gptq::model
