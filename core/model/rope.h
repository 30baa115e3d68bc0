// Rotary position embeddings as transformers computes them: inverse
// frequencies 1 / theta^(2i/d) adjusted by the rope type of config.json
// (default, linear, dynamic NTK, llama3), applied in the rotate-half
// convention: out[i] = x[i] cos - x[i + d/2] sin, out[i + d/2] = x[i + d/2] cos
// + x[i] sin, with angle = position * inv_freq[i] in fp32.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/cpu/compute.h"
#include "core/model/model_config.h"

namespace gptq::model {

// The d/2 inverse frequencies for head_dim d. `seq_len` (positions covered by
// the current forward call: last position + 1) matters only for dynamic
// scaling, which raises theta once it exceeds max_position_embeddings.
std::vector<float> rope_inv_freq(const RopeConfig &rope, std::int64_t head_dim,
                                 std::int64_t max_position_embeddings, std::int64_t seq_len);

// Rotates, in place, every head of every row of x ([rows, heads * head_dim]);
// row r is at position positions[r]. Rows in chunks on the pool.
void apply_rope(const Compute &compute, float *x, std::int64_t rows, std::int64_t heads, std::int64_t head_dim,
                std::span<const std::int64_t> positions, std::span<const float> inv_freq);

}  // namespace gptq::model
