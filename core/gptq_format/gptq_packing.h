// The Hugging Face GPTQ tensors of one quantized linear layer (W[N][K]):
//   qweight int32 [K*b/32][N]  codes packed along K
//   qzeros  int32 [G][N*b/32]  zero points packed along N
//   scales  fp16  [G][N]
//   g_idx   int32 [K]          group of each input column
// Packing, checked against AutoGPTQ/GPTQModel's pack code: each packed run is
// a little-endian bit stream, value i at bits [i*b, i*b + b) of the run, word
// i*b/32 holding bit (i*b) % 32 upward. For b = 2, 4, 8 values never straddle
// words; for b = 3 a run of 32 values fills 3 words and values 10 and 21 cross
// word boundaries. Format v2 ("gptq_v2") stores the zero itself; v1 ("gptq",
// and an absent checkpoint_format) stores zero - 1.
//
// v1 and a zero point of 0. Every peer agrees on a v1 zero of 1..2^b-1; for
// a zero of 0 (asymmetric grids give one when a group's minimum is above
// -scale/2) writers and readers disagree, read from their source:
//  - AutoGPTQ 0.2-0.7 (auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py,
//    qlinear_cuda.py, qlinear_exllama.py, qlinear_triton.py: pack()) does
//    `zeros -= 1; zeros.numpy().astype(np.uint32)` and ORs
//    `zeros[:, j] << (bits * (j - i))` into the word: -1 is 0xFFFFFFFF, so
//    that field and every higher field of the word become all ones (the
//    higher fields' own zeros are lost). Its readers then disagree among
//    themselves: qlinear_cuda_old's torch path adds 1 before masking
//    (all ones -> 0), qlinear_cuda's masks first (-> 2^b); the CUDA kernels
//    (autogptq_cuda_kernel_256.cu) do ((field & mask) + 1) & 0x0f (-> 0 in 4
//    bits, 2^b in 2 and 3), exllama's and exllamav2's 4-bit kernels
//    (q4_matrix.cu, q_gemm_kernel_gptq.cuh) (field + 1) & 0x0f (-> 0), the
//    triton dequant (triton_utils/dequant.py) (field & maxq) + 1 (-> 2^b).
//  - vLLM (csrc/quantization/gptq/q_gemm.cu, every gemm_half_q_half_gptq_*
//    and reconstruct_* kernel) takes the masked field + 1 for v1
//    (zero_offset): all ones -> 2^b.
//  - GPTQModel (gptqmodel/utils/model.py) packs true zeros (the v2 meaning;
//    nn_modules/qlinear/__init__.py pack_block/pack_original) and converts
//    whole 32-bit words at save, convert_gptq_v2_to_v1_format_module:
//    qzeros -= 0x55555555 / 0x11111111 / 0x01010101 (2/4/8 bits), and back
//    at load, convert_gptq_v1_to_v2_format_module: += the same. A zero of 0
//    borrows from the next field up, which per-field readers then read one
//    too low; GPTQModel's own reading undoes it exactly. 3 bits: from v0.9
//    to 6.x it added to each word column c the constant 0x24924924,
//    0x92492492 or 0x49249249 for c mod 3 = 0, 1, 2 (whole words, and not
//    the field layout's own +1 pattern); from v7.0.0 ("fix int3 qzero format
//    conversion") it shifts each field by 1 mod 8 (_correct_gptq_v1_qzeros /
//    _revert_gptq_v1_qzeros_correction, utils/model_dequant.py). Its files
//    say so: quantize_config.json "meta": {"quantizer": ["gptqmodel:<v>"]}
//    (one string in 0.9; optimum writes ["optimum:<v>", "gptqmodel:<v>"]
//    when it packed with GPTQModel), and GPTQModel refuses a sym=False v1
//    checkpoint without that mark (models/loader.py, MIN_VERSION_WITH_V2
//    = "0.9.0"); transformers+optimum with GPTQModel installed apply the
//    same whole-word conversion to any v1 file whose kernel wants v2
//    (hf_convert_gptq_v1_to_v2_format), marked or not.
// So a reader must know the writer: V1ZeroReading says how (chosen from the
// checkpoint's meta by the model loader, core/model/gptq_linear.h). Without
// a GPTQModel mark, v1 is read per field as (stored + 1) mod 2^b: the inverse
// of every per-field packer's zero - 1, and the value AutoGPTQ's 4-bit
// kernels and exllama compute; a zero of 2^b (vLLM's reading of all ones) is
// no grid's zero (round(-min/scale) <= 2^b - 1).
// Writing, we never store a zero of 0 in v1: pack_gptq refuses it, and the
// grid of an asymmetric v1 quantization keeps zeros >= 1
// (QuantOptions::positive_zero). Our v1 fields are then 0..2^b-2, where no
// reading above differs (no all-ones field, no borrow or carry), except
// GPTQModel before 7.0 on 3 bits, whose constants misread every 3-bit v1
// file it did not write itself.
#pragma once

#include <cstdint>
#include <vector>

#include "core/gptq_format/checkpoint_format.h"

namespace gptq::quant {

// How a v1 checkpoint's stored zeros become zero points (see above).
enum class V1ZeroReading {
  PerField,          // each field: (stored + 1) mod 2^b
  GptqModel,         // 2/4/8 bits: each word + 0x55555555/0x11111111/0x01010101 (mod 2^32), then the
                     // fields; 3 bits: per field
  GptqModelBefore7,  // as GptqModel, but 3-bit word column c + 0x24924924/0x92492492/0x49249249 (c mod 3)
};

struct PackedGptq {
  int bits = 0;
  std::int64_t out_features = 0;  // N
  std::int64_t in_features = 0;   // K
  std::int64_t groups = 0;        // G
  CheckpointFormat format = CheckpointFormat::V1;
  V1ZeroReading v1_zeros = V1ZeroReading::PerField;  // how to read qzeros when format is V1
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
// of 32, a code or zero outside [0, 2^b), a zero of 0 in format V1 (see
// above), a g_idx outside [0, G), or a scale that is not finite in fp16.
PackedGptq pack_gptq(const std::uint8_t *codes, const float *scales, const std::int32_t *zeros,
                     const std::int32_t *g_idx, std::int64_t out_features, std::int64_t in_features,
                     std::int64_t groups, int bits, CheckpointFormat format);

// Checks the tensor sizes and g_idx range (InvalidArgument) and unpacks,
// reading v1 zeros as p.v1_zeros says.
UnpackedGptq unpack_gptq(const PackedGptq &p);

// W[n][k] = scales[g][n] * (code[n][k] - zero[g][n]), g = g_idx[k], in float
// with the fp16 scales; [N][K] row-major.
std::vector<float> dequantize_gptq(const PackedGptq &p);

// Rewrites qzeros in the other format: read as p.format and p.v1_zeros say,
// written as pack_gptq does (V1: per field, PerField; InvalidArgument naming
// the group and column for a zero of 0).
void convert_checkpoint_format(PackedGptq &p, CheckpointFormat to);

}  // namespace gptq::quant
