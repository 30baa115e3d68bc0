#include "core/gptq_format/gptq_packing.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/base/error.h"
#include "core/gptq_format/bit_widths.h"
#include "core/tensor/half.h"

namespace gptq::quant {
namespace {

using Index = std::int64_t;
std::size_t at(Index i) { return static_cast<std::size_t>(i); }

[[noreturn]] void invalid(const std::string &what) { fail(Status::InvalidArgument, "GPTQ packing: " + what); }

void check_bits(int bits) {
  if (!is_gptq_bit_width(bits))
    invalid(std::string("bits must be ") + kGptqBitWidthsText + ", got " + std::to_string(bits));
}

void check_sizes(Index n, Index k, Index groups, int bits) {
  check_bits(bits);
  if (n <= 0 || k <= 0 || groups <= 0)
    invalid("sizes must be > 0, got N=" + std::to_string(n) + " K=" + std::to_string(k) +
            " G=" + std::to_string(groups));
  if ((k * bits) % 32 != 0)
    invalid("in_features K=" + std::to_string(k) + " times bits=" + std::to_string(bits) +
            " is not a multiple of 32 (qweight packs along K)");
  if ((n * bits) % 32 != 0)
    invalid("out_features N=" + std::to_string(n) + " times bits=" + std::to_string(bits) +
            " is not a multiple of 32 (qzeros packs along N)");
}

// Value i of a packed run lives at bits [i*b, i*b + b) of the run's words.
// `word(w)` returns a reference to the run's w-th word.
template <class Word>
void put_bits(Word &&word, Index i, int bits, std::uint32_t v) {
  const Index pos = i * bits;
  const auto off = static_cast<unsigned>(pos % 32);
  auto &lo = word(pos / 32);
  lo = static_cast<std::int32_t>(static_cast<std::uint32_t>(lo) | (v << off));
  if (off + static_cast<unsigned>(bits) > 32) {
    auto &hi = word(pos / 32 + 1);
    hi = static_cast<std::int32_t>(static_cast<std::uint32_t>(hi) | (v >> (32 - off)));
  }
}

template <class Word>
std::uint32_t get_bits(Word &&word, Index i, int bits) {
  const Index pos = i * bits;
  const auto off = static_cast<unsigned>(pos % 32);
  std::uint32_t v = static_cast<std::uint32_t>(word(pos / 32)) >> off;
  if (off + static_cast<unsigned>(bits) > 32) v |= static_cast<std::uint32_t>(word(pos / 32 + 1)) << (32 - off);
  return v & ((1u << bits) - 1u);
}

// The field v1 or v2 stores for a true zero point (0 <= z < 2^b; pack_zeros
// has refused a v1 zero of 0).
std::uint32_t stored_zero(std::int32_t z, int bits, CheckpointFormat f) {
  const std::uint32_t mask = (1u << bits) - 1u;
  return (f == CheckpointFormat::V1 ? static_cast<std::uint32_t>(z) - 1u : static_cast<std::uint32_t>(z)) & mask;
}

std::vector<std::int32_t> pack_zeros(const std::int32_t *zeros, Index n, Index groups, int bits,
                                     CheckpointFormat f) {
  const Index words = n * bits / 32;
  std::vector<std::int32_t> q(at(groups * words), 0);
  for (Index g = 0; g < groups; ++g) {
    std::int32_t *run = &q[at(g * words)];
    for (Index i = 0; i < n; ++i) {
      const std::int32_t z = zeros[g * n + i];
      if (f == CheckpointFormat::V1 && z == 0)
        invalid("zero [" + std::to_string(g) + "][" + std::to_string(i) +
                "] = 0 cannot be stored in format v1 (\"gptq\"): its readers disagree on it (AutoGPTQ "
                "and exllama read 0, vLLM " + std::to_string(1 << bits) +
                ", GPTQModel borrows from the next zero); fit the grid with positive_zero or write gptq_v2");
      put_bits([&](Index w) -> std::int32_t & { return run[w]; }, i, bits, stored_zero(z, bits, f));
    }
  }
  return q;
}

// What GPTQModel adds to v1 qzeros word `column` to get v2 (see the header);
// 0 where it reads per field.
std::uint32_t gptqmodel_word_offset(int bits, Index column, V1ZeroReading reading) {
  switch (bits) {
    case 2: return 0x55555555u;
    case 4: return 0x11111111u;
    case 8: return 0x01010101u;
    default: break;
  }
  if (reading != V1ZeroReading::GptqModelBefore7) return 0;
  constexpr std::uint32_t kOld3Bit[3] = {0x24924924u, 0x92492492u, 0x49249249u};
  return kOld3Bit[column % 3];
}

std::vector<std::int32_t> unpack_zeros(const PackedGptq &p) {
  const Index n = p.out_features, words = n * p.bits / 32;
  const std::uint32_t mask = (1u << p.bits) - 1u;
  const bool v1 = p.format == CheckpointFormat::V1;
  const bool whole_words = v1 && p.v1_zeros != V1ZeroReading::PerField &&
                           gptqmodel_word_offset(p.bits, 0, p.v1_zeros) != 0;
  std::vector<std::int32_t> z(at(p.groups * n));
  std::vector<std::uint32_t> run(at(words));
  for (Index g = 0; g < p.groups; ++g) {
    for (Index w = 0; w < words; ++w) {
      run[at(w)] = static_cast<std::uint32_t>(p.qzeros[at(g * words + w)]);
      if (whole_words) run[at(w)] += gptqmodel_word_offset(p.bits, w, p.v1_zeros);  // mod 2^32, as int32 in torch
    }
    for (Index i = 0; i < n; ++i) {
      const std::uint32_t field = get_bits([&](Index w) { return run[at(w)]; }, i, p.bits);
      z[at(g * n + i)] = static_cast<std::int32_t>(v1 && !whole_words ? (field + 1u) & mask : field);
    }
  }
  return z;
}

void check_packed(const PackedGptq &p) {
  check_sizes(p.out_features, p.in_features, p.groups, p.bits);
  const Index n = p.out_features, k = p.in_features, g = p.groups;
  auto expect = [](const char *name, std::size_t got, Index want) {
    if (got != at(want))
      invalid(std::string(name) + " has " + std::to_string(got) + " elements, expected " + std::to_string(want));
  };
  expect("qweight", p.qweight.size(), k * p.bits / 32 * n);
  expect("qzeros", p.qzeros.size(), g * (n * p.bits / 32));
  expect("scales", p.scales.size(), g * n);
  expect("g_idx", p.g_idx.size(), k);
  for (Index i = 0; i < k; ++i)
    if (p.g_idx[at(i)] < 0 || p.g_idx[at(i)] >= g)
      invalid("g_idx[" + std::to_string(i) + "] = " + std::to_string(p.g_idx[at(i)]) + " is outside [0, " +
              std::to_string(g) + ")");
}

}  // namespace

PackedGptq pack_gptq(const std::uint8_t *codes, const float *scales, const std::int32_t *zeros,
                     const std::int32_t *g_idx, Index n, Index k, Index groups, int bits, CheckpointFormat format) {
  check_sizes(n, k, groups, bits);
  if (!codes || !scales || !zeros || !g_idx) invalid("a null input pointer");
  const auto limit = static_cast<std::uint32_t>(1u << bits);
  for (Index i = 0; i < n * k; ++i)
    if (codes[i] >= limit)
      invalid("code [" + std::to_string(i / k) + "][" + std::to_string(i % k) + "] = " + std::to_string(codes[i]) +
              " does not fit in " + std::to_string(bits) + " bits");
  for (Index i = 0; i < groups * n; ++i) {
    if (zeros[i] < 0 || static_cast<std::uint32_t>(zeros[i]) >= limit)
      invalid("zero [" + std::to_string(i / n) + "][" + std::to_string(i % n) + "] = " + std::to_string(zeros[i]) +
              " does not fit in " + std::to_string(bits) + " bits");
    if (!std::isfinite(half_to_float(float_to_half(scales[i]))))
      invalid("scale [" + std::to_string(i / n) + "][" + std::to_string(i % n) + "] = " + std::to_string(scales[i]) +
              " is not finite in fp16");
  }
  for (Index i = 0; i < k; ++i)
    if (g_idx[i] < 0 || g_idx[i] >= groups)
      invalid("g_idx[" + std::to_string(i) + "] = " + std::to_string(g_idx[i]) + " is outside [0, " +
              std::to_string(groups) + ")");

  PackedGptq p;
  p.bits = bits;
  p.out_features = n;
  p.in_features = k;
  p.groups = groups;
  p.format = format;
  // Column c's run along K: word w of it is qweight[w][c]. The runs of a
  // tile of columns are made in a scratch tile, each from its row of codes
  // read in order through a 64-bit accumulator, then stored a word row at a
  // time: qweight is written contiguously (a 7B model's 6.5e9 codes took
  // 22 s on the H200 machine's CPU through put_bits's strided writes).
  const Index words = k * bits / 32;
  p.qweight.resize(at(words * n));
  constexpr Index kTile = 64;
  std::vector<std::uint32_t> tile(at(words * kTile));
  for (Index c0 = 0; c0 < n; c0 += kTile) {
    const Index columns = std::min(kTile, n - c0);
    for (Index t = 0; t < columns; ++t) {
      const std::uint8_t *row = codes + (c0 + t) * k;
      std::uint64_t acc = 0;
      unsigned held = 0;
      Index w = 0;
      for (Index i = 0; i < k; ++i) {
        acc |= static_cast<std::uint64_t>(row[i]) << held;
        held += static_cast<unsigned>(bits);
        if (held >= 32) {
          tile[at(w++ * kTile + t)] = static_cast<std::uint32_t>(acc);
          acc >>= 32;
          held -= 32;
        }
      }
    }
    for (Index w = 0; w < words; ++w)
      for (Index t = 0; t < columns; ++t)
        p.qweight[at(w * n + c0 + t)] = static_cast<std::int32_t>(tile[at(w * kTile + t)]);
  }
  p.qzeros = pack_zeros(zeros, n, groups, bits, format);
  p.scales.resize(at(groups * n));
  for (Index i = 0; i < groups * n; ++i) p.scales[at(i)] = float_to_half(scales[i]);
  p.g_idx.assign(g_idx, g_idx + k);
  return p;
}

UnpackedGptq unpack_gptq(const PackedGptq &p) {
  check_packed(p);
  const Index n = p.out_features, k = p.in_features;
  UnpackedGptq u;
  u.bits = p.bits;
  u.out_features = n;
  u.in_features = k;
  u.groups = p.groups;
  u.codes.resize(at(n * k));
  if (32 % p.bits == 0) {
    // 2, 4 and 8 bits: no field crosses a word, so each word is split in
    // place; columns go 16 at a time (one cache line of a qweight row), so
    // every line read is used whole. The same codes as the general loop,
    // several times faster (a 7B model's load unpacks 6.5e9 of them).
    const Index per = 32 / p.bits, words = k / per;
    const std::uint32_t mask = (1u << p.bits) - 1u;
    constexpr Index kColumns = 16;
    for (Index c0 = 0; c0 < n; c0 += kColumns) {
      const Index c1 = std::min(n, c0 + kColumns);
      for (Index w = 0; w < words; ++w) {
        const std::int32_t *src = &p.qweight[at(w * n)];
        for (Index c = c0; c < c1; ++c) {
          auto v = static_cast<std::uint32_t>(src[c]);
          std::uint8_t *out = &u.codes[at(c * k + w * per)];
          for (Index j = 0; j < per; ++j, v >>= p.bits) out[j] = static_cast<std::uint8_t>(v & mask);
        }
      }
    }
  } else {
    for (Index c = 0; c < n; ++c) {
      auto word = [&](Index w) { return p.qweight[at(w * n + c)]; };
      std::uint8_t *row = &u.codes[at(c * k)];
      for (Index i = 0; i < k; ++i) row[i] = static_cast<std::uint8_t>(get_bits(word, i, p.bits));
    }
  }
  u.zeros = unpack_zeros(p);
  u.scales.resize(p.scales.size());
  for (std::size_t i = 0; i < p.scales.size(); ++i) u.scales[i] = half_to_float(p.scales[i]);
  u.g_idx = p.g_idx;
  return u;
}

std::vector<float> dequantize_gptq(const PackedGptq &p) {
  const UnpackedGptq u = unpack_gptq(p);
  const Index n = u.out_features, k = u.in_features;
  std::vector<float> w(at(n * k));
  for (Index c = 0; c < n; ++c) {
    for (Index i = 0; i < k; ++i) {
      const Index g = u.g_idx[at(i)];
      const float z = static_cast<float>(u.zeros[at(g * n + c)]);
      w[at(c * k + i)] = u.scales[at(g * n + c)] * (static_cast<float>(u.codes[at(c * k + i)]) - z);
    }
  }
  return w;
}

void convert_checkpoint_format(PackedGptq &p, CheckpointFormat to) {
  if (p.format == to) return;
  check_sizes(p.out_features, p.in_features, p.groups, p.bits);
  if (p.qzeros.size() != at(p.groups * (p.out_features * p.bits / 32)))
    invalid("qzeros has " + std::to_string(p.qzeros.size()) + " elements, expected " +
            std::to_string(p.groups * (p.out_features * p.bits / 32)));
  const std::vector<std::int32_t> z = unpack_zeros(p);
  p.qzeros = pack_zeros(z.data(), p.out_features, p.groups, p.bits, to);
  p.format = to;
  p.v1_zeros = V1ZeroReading::PerField;
}

}  // namespace gptq::quant
