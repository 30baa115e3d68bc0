// The fp32 weights of one decoder block and of the model-level modules, loaded
// one block at a time from the memory-mapped checkpoint (float or HF GPTQ),
// so a caller can stream through a model holding a single block.
//
// BlockWeights is plain, mutable data on purpose. The calibration pipeline
// loads a block and runs it (core/model/block_forward.h) with an observer
// that, given a linear's input, replaces linears' `weight` by their
// quantized-dequantized version (same shape) before they run:
//
//   BlockWeights w = load_block_weights(spec, checkpoint, layer);
//   LinearWeights &q = w.linear("self_attn.q_proj");
//   q.weight = dequantized;      // [out_features * in_features]
//   block_forward(spec, w, hidden, batch, seq, observer);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/sharded_checkpoint.h"
#include "core/model/linear_weights.h"
#include "core/model/model_config.h"

namespace gptq::model {

// A RMSNorm (bias empty) or LayerNorm.
struct NormWeights {
  std::vector<float> weight;
  std::vector<float> bias;
};

struct BlockWeights {
  std::int64_t layer = 0;
  // Keyed by the sublayer's name within the block, as in the architecture's
  // sequential_groups ("self_attn.q_proj", "mlp.down_proj", "fc1", ...).
  std::map<std::string, LinearWeights, std::less<>> linears;
  // Keyed by module name ("input_layernorm", "self_attn_layer_norm", ...).
  std::map<std::string, NormWeights, std::less<>> norms;

  // Throw Error(InvalidArgument) naming the sublayer and the layer when absent.
  LinearWeights &linear(std::string_view name);
  const LinearWeights &linear(std::string_view name) const;
  const NormWeights &norm(std::string_view name) const;
};

// Runs task(i) for every i in [0, count), in any order, on any threads,
// and returns when all have run (a thread pool's run), rethrowing a task's
// error.
using ForEachIndex = std::function<void(std::int64_t count, const std::function<void(std::int64_t)> &task)>;

// Loads block `layer` (0 <= layer < spec.num_layers, else InvalidArgument):
// every tensor the architecture's templates name for it, shapes checked.
// GPTQ linears as `quantized` says (linear_weights.h). With `for_each`, each
// tensor is read as one of its tasks (a block's linears on several threads
// at once); the result is the same.
BlockWeights load_block_weights(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint,
                                std::int64_t layer,
                                QuantizedLinears quantized = QuantizedLinears::Dequantize,
                                const ForEachIndex &for_each = {});

// One tensor of block `layer` as load_block_weights loads it (linear `module`,
// a name of the architecture's sequential_groups, or norm `module`), so a
// caller can load a block's tensors on several threads at once; an absent
// linear has empty weights, an absent norm leaf an empty vector.
LinearWeights load_block_linear(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint,
                                std::int64_t layer, std::string_view module,
                                QuantizedLinears quantized = QuantizedLinears::Dequantize);
NormWeights load_block_norm(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint, std::int64_t layer,
                            std::string_view module);

// The model-level weights: token (and learned position) embeddings, the final
// norm, the output projection and OPT's embedding projections.
struct GlobalWeights {
  std::vector<float> embed_tokens;     // [vocab, embed_width]
  std::vector<float> embed_positions;  // [max_positions + offset, hidden]; empty for RoPE
  NormWeights final_norm;              // weight empty when the model has none
  // Empty weight when the embeddings are tied: logits use embed_tokens then.
  LinearWeights lm_head;
  LinearWeights project_in;   // [hidden, embed_width]; empty unless OPT projects
  LinearWeights project_out;  // [embed_width, hidden]
};

GlobalWeights load_global_weights(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint);

// load_global_weights in two halves of about the same size (for a model
// loaded on two threads): the embeddings (tokens, learned positions), and
// the rest (final norm, lm_head, OPT's projections); each fills its own
// members of `into`.
enum class GlobalPart { Embeddings, Head };
void load_global_part(const ModelSpec &spec, const io::ShardedCheckpoint &checkpoint, GlobalPart part,
                      GlobalWeights &into);

}  // namespace gptq::model
