// The load-time repack of a normalized GPTQ linear (HostGptqLinear) into the
// layout the int4/int8 kernels read (gptq_kernels.cuh). Host only; done once
// per layer, never per call.
//
// Layout, chosen so that each lane of a warp loads the weights of its
// mma.sync A fragments (the weights are the A operand, gptq_device.cuh) with
// one 128-bit load and no shared memory:
//  - K is reordered so that each group is contiguous (act-order, as ExLlama
//    does; the activations are permuted into the workspace at run time),
//    each group starts on a multiple of 16 (a lane's 16 consecutive k share
//    one scale) and K is padded to a multiple of 64 (a k-tile).
//  - N is cut in tiles of 16 (two n8 mma blocks). A (n-tile, k-tile) of 16x64
//    codes is 32 lanes x (bits) 32-bit words, stored lane after lane, so a
//    warp reads 512 (4-bit) or 1024 (8-bit) contiguous bytes.
//  - Inside a k-tile, lane (g = lane/4, t = lane%4) holds for rows g and g+8
//    the 16 columns 16t..16t+15; its word for k-step s covers 16t+4s..+3.
//    mma sums over k, so this permutation of k inside the tile is free as long
//    as the activations get the same one, and it lets a lane read its 16
//    activations per row as two contiguous 16-byte loads.
//  - 4-bit word of k-step s: nibbles 0,4 = row g (k+0, k+1), 1,5 = row g
//    (k+2, k+3), 2,6 / 3,7 the same for row g+8, so that masking with
//    0x000f000f / 0x00f000f0 and or-ing 0x6400 yields two fp16 codes at once.
//    8-bit: word 2s = row g (k+0..3), word 2s+1 = row g+8 (k+0..3).
//  - Scales (and zeros, unless every zero is 2^(bits-1)) as fp16 pairs
//    (row g, row g+8) per (n-tile, group, g): [n_tiles][groups][8] half2.
//  - The dequantized weight is fp16(scale * (code - zero)), computed exactly
//    as a host dequantization to fp16 would (code - zero is exact in fp16).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cuda/device_linear.h"

namespace gptq::cuda {

struct GptqPacked {
  int bits = 0;                 // 4 or 8
  std::int64_t n = 0;           // out_features
  std::int64_t k = 0;           // in_features
  std::int64_t n_tiles = 0;     // ceil(n / 16)
  std::int64_t k_pad = 0;       // repacked K, a multiple of 64
  std::int64_t groups = 0;      // G
  bool symmetric = false;       // every zero is 2^(bits-1): no zeros stored
  std::vector<std::uint32_t> qweight;    // [n_tiles][k_pad/64][32][bits] words
  std::vector<std::uint16_t> scales;     // fp16 bits, [n_tiles][groups][8][2]
  std::vector<std::uint16_t> zeros;      // fp16 bits of the zero, same; empty if symmetric
  std::vector<std::int32_t> chunk_group; // [k_pad/16]: the group of each 16 columns
  // >= 0 when every group is 64 << shift columns of the repacked K (the last
  // may be shorter): k-tile kt then lies in group kt >> shift, and the
  // decode GEMV needs no chunk table (g64..g8192, act-order or not, which
  // is every GPTQ checkpoint with a group size; ragged or g16/g32: -1).
  int tile_group_shift = -1;
  std::vector<std::int32_t> perm;        // [k_pad]: source column, -1 = padding; empty if identity
  std::vector<float> bias;               // [n], empty if none
  // A fused layer's members (fuse_gptq): the out_features of each, in order,
  // each member from a 16-column tile on (n counts the padding between them);
  // empty for a plain layer.
  std::vector<std::int64_t> parts;

  // Words of one lane in one k-tile.
  static constexpr int words_per_lane(int bits) { return bits; }
};

// Checks `w` (bits 4 or 8, shapes, every code, zero, scale and g_idx entry)
// and repacks it. Throws std::invalid_argument naming the field and index.
GptqPacked repack_gptq(const HostGptqLinear &w);

// Linears of one input (q/k/v, gate/up; 2 or 3 plain layers) as one layer
// whose product writes each member's columns apart (kernels::OutParts): its
// tiles are the members' tiles one after another, so one pass over the
// weights does them all. They can be fused only when the kernels see one
// layout: the same bits, K, groups, column order and group of every 16
// columns (act-order's g_idx alike) and zeros stored for all or none.
// Otherwise returns nothing and says in *why_not what differs, naming the
// members by `names`.
std::optional<GptqPacked> fuse_gptq(const std::vector<const GptqPacked *> &members,
                                    const std::vector<std::string> &names, std::string *why_not);

}  // namespace gptq::cuda
