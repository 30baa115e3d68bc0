// The Hugging Face GPTQ tensors of one quantized linear layer (W[N][K]):
//   qweight int32 [K*b/32][N]  codes packed along K
//   qzeros  int32 [G][N*b/32]  zero points packed along N
//   scales  fp16  [G][N]
//   g_idx   int32 [K]          group of each input column
// Packing, checked against AutoGPTQ/GPTQModel's pack code: each packed run is
// a little-endian bit stream, value i at bits [i*b, i*b + b) of the run, word
// i*b/32 holding bit (i*b) % 32 upward. For b = 2, 4, 8 values never straddle
// words; for b = 3 a run of 32 values fills 3 words and values 10 and 21 cross
// word boundaries. Format v1 ("gptq") stores zero - 1 masked to b bits; v2
// ("gptq_v2") stores the zero itself. v1 can still hold an asymmetric zero of
// 0 (stored as 2^b - 1, read back as (stored + 1) mod 2^b), but peers read
// that field differently (see docs in the report): prefer v2 for asymmetric
// checkpoints.
#pragma once

#include <cstdint>
#include <vector>

#include "core/quant/quant_result.h"

namespace gptq::quant {

enum class CheckpointFormat { V1, V2 };  // "gptq", "gptq_v2"

struct PackedGptq {
  int bits = 0;
  std::int64_t out_features = 0;  // N
  std::int64_t in_features = 0;   // K
  std::int64_t groups = 0;        // G
  CheckpointFormat format = CheckpointFormat::V1;
  std::vector<std::int32_t> qweight;  // [K*b/32][N]
  std::vector<std::int32_t> qzeros;   // [G][N*b/32]
  std::vector<std::uint16_t> scales;  // [G][N] IEEE half bits
  std::vector<std::int32_t> g_idx;    // [K]
};

// The same layer with every field unpacked; zeros are true zero points (the
// v2 meaning) whatever the packed format.
struct UnpackedGptq {
  int bits = 0;
  std::int64_t out_features = 0, in_features = 0, groups = 0;
  std::vector<std::uint8_t> codes;   // [N][K]
  std::vector<std::int32_t> zeros;   // [G][N]
  std::vector<float> scales;         // [G][N] (fp16 values widened)
  std::vector<std::int32_t> g_idx;   // [K]
};

// Packs codes [N][K], scales [G][N] (rounded to fp16, ties to even), zeros
// [G][N] (true zero points) and g_idx [K]. Throws InvalidArgument (nothing
// returned) for bits not in {2,3,4,8}, sizes <= 0, K*b or N*b not a multiple
// of 32, a code or zero outside [0, 2^b), a g_idx outside [0, G), or a scale
// that is not finite in fp16.
PackedGptq pack_gptq(const std::uint8_t *codes, const float *scales, const std::int32_t *zeros,
                     const std::int32_t *g_idx, std::int64_t out_features, std::int64_t in_features,
                     std::int64_t groups, int bits, CheckpointFormat format);

// Packs a solver or RTN result.
PackedGptq pack_gptq(const QuantResult &r, CheckpointFormat format);

// Checks the tensor sizes and g_idx range (InvalidArgument) and unpacks.
UnpackedGptq unpack_gptq(const PackedGptq &p);

// W[n][k] = scales[g][n] * (code[n][k] - zero[g][n]), g = g_idx[k], in float
// with the fp16 scales; [N][K] row-major.
std::vector<float> dequantize_gptq(const PackedGptq &p);

// Rewrites qzeros in the other zero-point convention (per field, mod 2^b).
void convert_checkpoint_format(PackedGptq &p, CheckpointFormat to);

}  // namespace gptq::quant
