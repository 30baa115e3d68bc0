// The load-time repack; gptq_repack.h describes the layout.
#include "cuda/kernels/gptq_repack.h"

#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace gptq::cuda {
namespace {

[[noreturn]] void bad(const std::string &what) {
  throw std::invalid_argument("GPTQ linear for the CUDA int4/int8 kernels: " + what);
}

std::uint16_t half_bits(float v) { return __half_as_ushort(__float2half_rn(v)); }

// Checks everything the kernels rely on before any work is done.
void validate(const HostGptqLinear &w) {
  if (w.bits == 2 || w.bits == 3)
    bad("bits = " + std::to_string(w.bits) +
        " has no fast kernel (only 4 and 8 do); 2- and 3-bit layers take the generic "
        "dequantized path");
  if (w.bits != 4 && w.bits != 8) bad("bits = " + std::to_string(w.bits) + " (must be 4 or 8)");
  // Kernel offsets are 32-bit; these bounds keep every one of them in range.
  constexpr std::int64_t kMaxDim = std::int64_t{1} << 20;
  if (w.out_features <= 0 || w.out_features > kMaxDim)
    bad("out_features = " + std::to_string(w.out_features) + " (must be in 1.." +
        std::to_string(kMaxDim) + ")");
  if (w.in_features <= 0 || w.in_features > kMaxDim)
    bad("in_features = " + std::to_string(w.in_features) + " (must be in 1.." +
        std::to_string(kMaxDim) + ")");
  if (w.out_features * w.in_features > (std::int64_t{1} << 31))
    bad("out_features x in_features = " + std::to_string(w.out_features * w.in_features) +
        " weights (at most 2^31)");
  if (w.groups <= 0 || w.groups > w.in_features)
    bad("groups = " + std::to_string(w.groups) + " (must be in 1..in_features = " +
        std::to_string(w.in_features) + ")");
  if (!w.codes) bad("codes is null");
  if (!w.zeros) bad("zeros is null");
  if (!w.scales) bad("scales is null");
  if (!w.g_idx) bad("g_idx is null");
  const std::int64_t n = w.out_features, k = w.in_features, g = w.groups;
  for (std::int64_t i = 0; i < k; ++i)
    if (w.g_idx[i] < 0 || w.g_idx[i] >= g)
      bad("g_idx[" + std::to_string(i) + "] = " + std::to_string(w.g_idx[i]) +
          " (groups = " + std::to_string(g) + ")");
  const int levels = 1 << w.bits;
  for (std::int64_t i = 0; i < n * k; ++i)
    if (w.codes[i] >= levels)
      bad("codes[" + std::to_string(i / k) + "][" + std::to_string(i % k) + "] = " +
          std::to_string(w.codes[i]) + " (must be < 2^bits = " + std::to_string(levels) + ")");
  // code - zero and 1024 + zero must be exact in fp16 (integers up to 2048).
  for (std::int64_t i = 0; i < g * n; ++i)
    if (w.zeros[i] < -1024 || w.zeros[i] > 1024)
      bad("zeros[" + std::to_string(i / n) + "][" + std::to_string(i % n) + "] = " +
          std::to_string(w.zeros[i]) + " (must be in -1024..1024)");
  for (std::int64_t i = 0; i < g * n; ++i)
    if (!std::isfinite(w.scales[i]) || std::fabs(w.scales[i]) > 65504.0f)
      bad("scales[" + std::to_string(i / n) + "][" + std::to_string(i % n) + "] = " +
          std::to_string(w.scales[i]) + " (not a finite fp16 value)");
  if (w.bias)
    for (std::int64_t i = 0; i < n; ++i)
      if (!std::isfinite(w.bias[i])) bad("bias[" + std::to_string(i) + "] is not finite");
}

// The shift s with chunk_group[c] == 16c >> (6 + s) for every chunk c, or
// -1 (gptq_repack.h: GptqPacked::tile_group_shift). A layer of one group
// matches at the shift whose group spans all of K.
int uniform_tile_group_shift(const std::vector<std::int32_t> &chunk_group) {
  for (int s = 0; s <= 24; ++s) {
    bool all = true;
    for (std::size_t c = 0; all && c < chunk_group.size(); ++c)
      all = chunk_group[c] == static_cast<std::int32_t>((c * 16) >> (6 + s));
    if (all) return s;
    // Larger shifts only merge groups; once group 0 spans all of K, none fits.
    if ((chunk_group.size() * 16) >> (6 + s) == 0) break;
  }
  return -1;
}

// The repacked column order: groups in order, each starting on a multiple of
// 16, K padded to a multiple of 64. Fills perm (source column or -1) and the
// group of each 16 columns.
void order_columns(const HostGptqLinear &w, GptqPacked &p) {
  const std::int64_t k = w.in_features, g = w.groups;
  std::vector<std::vector<std::int32_t>> members(static_cast<std::size_t>(g));
  for (std::int64_t i = 0; i < k; ++i)
    members[static_cast<std::size_t>(w.g_idx[i])].push_back(static_cast<std::int32_t>(i));
  std::vector<std::int32_t> perm;
  std::vector<std::int32_t> group_of;  // per repacked column, for the chunk table
  perm.reserve(static_cast<std::size_t>(k + 64));
  std::int32_t last_group = 0;
  for (std::int64_t gi = 0; gi < g; ++gi) {
    const auto &cols = members[static_cast<std::size_t>(gi)];
    if (cols.empty()) continue;
    while (perm.size() % 16 != 0) {
      perm.push_back(-1);
      group_of.push_back(last_group);
    }
    last_group = static_cast<std::int32_t>(gi);
    for (std::int32_t c : cols) {
      perm.push_back(c);
      group_of.push_back(last_group);
    }
  }
  while (perm.size() % 64 != 0) {
    perm.push_back(-1);
    group_of.push_back(last_group);
  }
  p.k_pad = static_cast<std::int64_t>(perm.size());
  p.chunk_group.resize(perm.size() / 16);
  for (std::size_t c = 0; c < p.chunk_group.size(); ++c) p.chunk_group[c] = group_of[c * 16];
  p.tile_group_shift = uniform_tile_group_shift(p.chunk_group);
  bool identity = p.k_pad == k;
  for (std::int64_t i = 0; identity && i < k; ++i) identity = perm[static_cast<std::size_t>(i)] == i;
  if (!identity) p.perm = std::move(perm);
}

}  // namespace

GptqPacked repack_gptq(const HostGptqLinear &w) {
  validate(w);
  GptqPacked p;
  p.bits = w.bits;
  p.n = w.out_features;
  p.k = w.in_features;
  p.groups = w.groups;
  p.n_tiles = (p.n + 15) / 16;
  order_columns(w, p);

  const std::int64_t n = p.n, k = p.k, g = p.groups, k_tiles = p.k_pad / 64;
  const std::int32_t half_range = 1 << (w.bits - 1);
  p.symmetric = true;
  for (std::int64_t i = 0; i < g * n && p.symmetric; ++i) p.symmetric = w.zeros[i] == half_range;

  // Source column of repacked column kk (-1: padding).
  auto source = [&](std::int64_t kk) -> std::int64_t {
    return p.perm.empty() ? kk : p.perm[static_cast<std::size_t>(kk)];
  };
  auto code = [&](std::int64_t row, std::int64_t kk) -> std::uint32_t {
    const std::int64_t src = source(kk);
    if (row >= n || src < 0) return 0;
    return w.codes[row * k + src];
  };

  const int words = w.bits;
  p.qweight.assign(static_cast<std::size_t>(p.n_tiles * k_tiles * 32 * words), 0);
  for (std::int64_t nt = 0; nt < p.n_tiles; ++nt) {
    for (std::int64_t kt = 0; kt < k_tiles; ++kt) {
      for (int lane = 0; lane < 32; ++lane) {
        const std::int64_t r0 = nt * 16 + lane / 4, r1 = r0 + 8;
        std::uint32_t *out = &p.qweight[static_cast<std::size_t>(((nt * k_tiles + kt) * 32 + lane) * words)];
        for (int s = 0; s < 4; ++s) {
          const std::int64_t kb = kt * 64 + 16 * (lane % 4) + 4 * s;
          if (w.bits == 4) {
            const std::uint32_t nib[8] = {code(r0, kb),     code(r0, kb + 2), code(r1, kb),
                                          code(r1, kb + 2), code(r0, kb + 1), code(r0, kb + 3),
                                          code(r1, kb + 1), code(r1, kb + 3)};
            std::uint32_t word = 0;
            for (int j = 0; j < 8; ++j) word |= nib[j] << (4 * j);
            out[s] = word;
          } else {
            out[2 * s] = code(r0, kb) | code(r0, kb + 1) << 8 | code(r0, kb + 2) << 16 |
                         code(r0, kb + 3) << 24;
            out[2 * s + 1] = code(r1, kb) | code(r1, kb + 1) << 8 | code(r1, kb + 2) << 16 |
                             code(r1, kb + 3) << 24;
          }
        }
      }
    }
  }

  const std::size_t pairs = static_cast<std::size_t>(p.n_tiles * g * 8 * 2);
  p.scales.assign(pairs, 0);
  if (!p.symmetric) p.zeros.assign(pairs, 0);
  for (std::int64_t nt = 0; nt < p.n_tiles; ++nt)
    for (std::int64_t gi = 0; gi < g; ++gi)
      for (int r = 0; r < 16; ++r) {
        const std::int64_t row = nt * 16 + r;
        if (row >= n) continue;
        const std::size_t at = static_cast<std::size_t>(((nt * g + gi) * 8 + r % 8) * 2 + r / 8);
        p.scales[at] = half_bits(w.scales[gi * n + row]);
        if (!p.symmetric) p.zeros[at] = half_bits(static_cast<float>(w.zeros[gi * n + row]));
      }
  if (w.bias) p.bias.assign(w.bias, w.bias + n);
  return p;
}

std::optional<GptqPacked> fuse_gptq(const std::vector<const GptqPacked *> &members,
                                    const std::vector<std::string> &names, std::string *why_not) {
  if (members.size() < 2 || members.size() > 3 || names.size() != members.size())
    bad("fuse_gptq takes 2 or 3 members, each named (" + std::to_string(members.size()) + " members, " +
        std::to_string(names.size()) + " names)");
  const GptqPacked &a = *members[0];
  auto refuse = [&](std::size_t i, const std::string &what) {
    *why_not = names[i] + " " + what + " than " + names[0];
    return std::nullopt;
  };
  for (std::size_t i = 0; i < members.size(); ++i) {
    const GptqPacked &b = *members[i];
    if (!b.parts.empty()) bad(names[i] + " is a fused layer already");
    if (b.bits != a.bits) return refuse(i, "has other bits (" + std::to_string(b.bits) + ")");
    if (b.k != a.k) return refuse(i, "has another in_features (" + std::to_string(b.k) + ")");
    if (b.groups != a.groups) return refuse(i, "has other groups (" + std::to_string(b.groups) + ")");
    if (b.symmetric != a.symmetric)
      return refuse(i, std::string("stores ") + (b.symmetric ? "no zeros (symmetric)" : "zeros (asymmetric)") +
                           ", other");
    if (b.k_pad != a.k_pad || b.perm != a.perm || b.chunk_group != a.chunk_group)
      return refuse(i, "has another column order (act-order g_idx)");
  }
  GptqPacked f;
  f.bits = a.bits;
  f.k = a.k;
  f.k_pad = a.k_pad;
  f.groups = a.groups;
  f.symmetric = a.symmetric;
  f.chunk_group = a.chunk_group;
  f.tile_group_shift = a.tile_group_shift;  // the same chunk_group: the same layout
  f.perm = a.perm;
  bool any_bias = false;
  // The layouts are tile-major ([n_tile][...]), so the members' tiles one
  // after another are their arrays one after another.
  for (const GptqPacked *m : members) {
    f.qweight.insert(f.qweight.end(), m->qweight.begin(), m->qweight.end());
    f.scales.insert(f.scales.end(), m->scales.begin(), m->scales.end());
    f.zeros.insert(f.zeros.end(), m->zeros.begin(), m->zeros.end());
    f.parts.push_back(m->n);
    f.n = f.n_tiles * 16 + m->n;
    f.n_tiles += m->n_tiles;
    any_bias = any_bias || !m->bias.empty();
  }
  // A member without a bias adds zeros (exact).
  if (any_bias) {
    f.bias.assign(static_cast<std::size_t>(f.n), 0.0f);
    std::int64_t first = 0;
    for (const GptqPacked *m : members) {
      std::copy(m->bias.begin(), m->bias.end(), f.bias.begin() + first);
      first += m->n_tiles * 16;
    }
  }
  return f;
}

}  // namespace gptq::cuda
