// HF GPTQ packing against the independent numpy packer's goldens
// (tests/reference/gptq_pack_ref.py), both ways, for every bits x format x
// act-order combination; plus round trips, v1<->v2 and bad input.
#include "core/gptq_format/gptq_packing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "core/base/error.h"
#include "core/pipeline/pack_result.h"
#include "core/quant/quantize_matrix.h"
#include "tests/core/io/io_test_support.h"
#include "tests/core/quant/quant_test_util.h"
#include "tests/support/test_compute.h"

namespace gptq::quant {
namespace {

using namespace gptq::quant::testing;

struct PackCase {
  std::string name;
  int bits;
  CheckpointFormat format;
  std::int64_t n, k, g;
  std::vector<std::uint8_t> codes;
  std::vector<float> scales;
  std::vector<std::int32_t> zeros, g_idx, qweight, qzeros;
  std::vector<std::uint16_t> scales16;
  std::vector<float> dequant;
};

template <class T>
void take(const std::vector<char> &bytes, std::size_t &off, std::vector<T> &out, std::size_t count) {
  out.resize(count);
  std::memcpy(out.data(), bytes.data() + off, count * sizeof(T));
  off += count * sizeof(T);
}

std::vector<PackCase> load_pack_cases() {
  const auto dir = golden_dir("pack");
  std::vector<PackCase> out;
  const auto manifest = read_json(dir / "manifest.json");
  for (const auto &c : manifest["cases"]) {
    PackCase p;
    p.name = c["name"];
    p.bits = c["bits"];
    p.format = c["format"] == "gptq" ? CheckpointFormat::V1 : CheckpointFormat::V2;
    p.n = c["out_features"];
    p.k = c["in_features"];
    p.g = c["groups"];
    const auto bytes = read_bytes(dir / c["file"].get<std::string>());
    const auto n = static_cast<std::size_t>(p.n), k = static_cast<std::size_t>(p.k), g = static_cast<std::size_t>(p.g);
    const auto b = static_cast<std::size_t>(p.bits);
    std::size_t off = 0;
    take(bytes, off, p.codes, n * k);
    take(bytes, off, p.scales, g * n);
    take(bytes, off, p.zeros, g * n);
    take(bytes, off, p.g_idx, k);
    take(bytes, off, p.qweight, k * b / 32 * n);
    take(bytes, off, p.qzeros, g * (n * b / 32));
    take(bytes, off, p.scales16, g * n);
    take(bytes, off, p.dequant, n * k);
    EXPECT_EQ(off, bytes.size()) << p.name;
    out.push_back(std::move(p));
  }
  return out;
}

TEST(GptqPacking, PacksBitExactlyAsTheReference) {
  const auto cases = load_pack_cases();
  ASSERT_EQ(cases.size(), 16u);
  for (const auto &c : cases) {
    const PackedGptq p = pack_gptq(c.codes.data(), c.scales.data(), c.zeros.data(), c.g_idx.data(), c.n, c.k, c.g,
                                   c.bits, c.format);
    EXPECT_EQ(p.qweight, c.qweight) << c.name;
    EXPECT_EQ(p.qzeros, c.qzeros) << c.name;
    EXPECT_EQ(p.scales, c.scales16) << c.name;
    EXPECT_EQ(p.g_idx, c.g_idx) << c.name;
  }
}

TEST(GptqPacking, UnpacksAndDequantizesTheReferenceTensors) {
  for (const auto &c : load_pack_cases()) {
    PackedGptq p;
    p.bits = c.bits;
    p.out_features = c.n;
    p.in_features = c.k;
    p.groups = c.g;
    p.format = c.format;
    p.qweight = c.qweight;
    p.qzeros = c.qzeros;
    p.scales = c.scales16;
    p.g_idx = c.g_idx;
    const UnpackedGptq u = unpack_gptq(p);
    EXPECT_EQ(u.codes, c.codes) << c.name;
    EXPECT_EQ(u.zeros, c.zeros) << c.name;
    EXPECT_EQ(dequantize_gptq(p), c.dequant) << c.name;
    // v1 <-> v2 keeps every true zero point; v2's zeros of 0 have no v1 form.
    PackedGptq q = p;
    const auto other = c.format == CheckpointFormat::V1 ? CheckpointFormat::V2 : CheckpointFormat::V1;
    const bool has_zero_0 = std::find(c.zeros.begin(), c.zeros.end(), 0) != c.zeros.end();
    EXPECT_EQ(has_zero_0, c.format == CheckpointFormat::V2) << c.name;
    if (other == CheckpointFormat::V1 && has_zero_0) {
      EXPECT_GPTQ_ERROR(convert_checkpoint_format(q, other), Status::InvalidArgument, {"= 0", "v1"});
      EXPECT_EQ(q.qzeros, p.qzeros) << c.name;  // left as it was
      continue;
    }
    convert_checkpoint_format(q, other);
    EXPECT_EQ(q.format, other);
    EXPECT_EQ(unpack_gptq(q).zeros, c.zeros) << c.name;
    EXPECT_EQ(q.qweight, p.qweight) << c.name;
    convert_checkpoint_format(q, c.format);
    EXPECT_EQ(q.qzeros, p.qzeros) << c.name;
  }
}

// Words whose fields are known by hand, 4 bits, N = 8 (one word per group).
PackedGptq one_word(CheckpointFormat format, V1ZeroReading reading, std::uint32_t word) {
  PackedGptq p;
  p.bits = 4;
  p.out_features = 8;
  p.in_features = 8;
  p.groups = 1;
  p.format = format;
  p.v1_zeros = reading;
  p.qweight.assign(8, 0);
  p.qzeros = {static_cast<std::int32_t>(word)};
  p.scales.assign(8, 0x3c00);  // 1.0
  p.g_idx.assign(8, 0);
  return p;
}

TEST(GptqPacking, V1ZerosOfZeroAreReadAsTheirWriterMeansThem) {
  // AutoGPTQ's pack of zeros {0, 5, 1, 2, 3, 4, 6, 7}: -1 as uint32 ORed in
  // at field 0 sets every field; per field each all-ones reads 0.
  EXPECT_EQ(unpack_gptq(one_word(CheckpointFormat::V1, V1ZeroReading::PerField, 0xFFFFFFFFu)).zeros,
            std::vector<std::int32_t>(8, 0));
  // GPTQModel's: v2 word 0x76432150 minus 0x11111111 = 0x6532103F, field 0
  // borrowing from field 1. Its reading gives the zeros back; per field,
  // field 1 would read 4.
  const std::vector<std::int32_t> zeros = {0, 5, 1, 2, 3, 4, 6, 7};
  EXPECT_EQ(unpack_gptq(one_word(CheckpointFormat::V1, V1ZeroReading::GptqModel, 0x6532103Fu)).zeros, zeros);
  EXPECT_EQ(unpack_gptq(one_word(CheckpointFormat::V1, V1ZeroReading::GptqModelBefore7, 0x6532103Fu)).zeros,
            zeros);
  EXPECT_EQ(unpack_gptq(one_word(CheckpointFormat::V1, V1ZeroReading::PerField, 0x6532103Fu)).zeros[1], 4);
  // v2 ignores the v1 reading.
  EXPECT_EQ(unpack_gptq(one_word(CheckpointFormat::V2, V1ZeroReading::GptqModel, 0x76432150u)).zeros, zeros);
  // A GPTQModel v1 word whose top field was 0 wrapped past bit 31: 0 - 1 ->
  // 0xF... and the add wraps it back.
  EXPECT_EQ(unpack_gptq(one_word(CheckpointFormat::V1, V1ZeroReading::GptqModel, 0x07654320u - 0x11111111u)).zeros,
            (std::vector<std::int32_t>{0, 2, 3, 4, 5, 6, 7, 0}));
}

TEST(GptqPacking, GptqModel3BitReadingsDifferByVersion) {
  // 3 bits, N = 32 (three words). GPTQModel 7+ reads per field as everyone;
  // before 7 it added 0x24924924, 0x92492492, 0x49249249 to the words.
  std::vector<std::int32_t> zeros(32);
  for (int i = 0; i < 32; ++i) zeros[static_cast<std::size_t>(i)] = 1 + i % 7;
  std::vector<float> scales(32, 1.0f);
  std::vector<std::uint8_t> codes(32 * 32, 0);
  std::vector<std::int32_t> g_idx(32, 0);
  PackedGptq v2 = pack_gptq(codes.data(), scales.data(), zeros.data(), g_idx.data(), 32, 32, 1, 3, CheckpointFormat::V2);
  PackedGptq v1 = pack_gptq(codes.data(), scales.data(), zeros.data(), g_idx.data(), 32, 32, 1, 3, CheckpointFormat::V1);
  v1.v1_zeros = V1ZeroReading::GptqModel;
  EXPECT_EQ(unpack_gptq(v1).zeros, zeros);
  PackedGptq old = v2;
  old.format = CheckpointFormat::V1;
  old.v1_zeros = V1ZeroReading::GptqModelBefore7;
  constexpr std::uint32_t kOffsets[3] = {0x24924924u, 0x92492492u, 0x49249249u};
  for (int w = 0; w < 3; ++w)
    old.qzeros[static_cast<std::size_t>(w)] =
        static_cast<std::int32_t>(static_cast<std::uint32_t>(old.qzeros[static_cast<std::size_t>(w)]) - kOffsets[w]);
  EXPECT_EQ(unpack_gptq(old).zeros, zeros);
  old.v1_zeros = V1ZeroReading::PerField;
  EXPECT_NE(unpack_gptq(old).zeros, zeros);
}

TEST(GptqPacking, V1NeverStoresAZeroOfZero) {
  std::vector<std::uint8_t> codes(32 * 32, 3);
  std::vector<float> scales(32, 0.5f);
  std::vector<std::int32_t> zeros(32, 2), g_idx(32, 0);
  zeros[9] = 0;
  EXPECT_GPTQ_ERROR(pack_gptq(codes.data(), scales.data(), zeros.data(), g_idx.data(), 32, 32, 1, 4,
                              CheckpointFormat::V1),
                    Status::InvalidArgument, {"zero [0][9] = 0", "v1", "gptq_v2"});
  PackedGptq v2 = pack_gptq(codes.data(), scales.data(), zeros.data(), g_idx.data(), 32, 32, 1, 4,
                            CheckpointFormat::V2);
  EXPECT_EQ(unpack_gptq(v2).zeros, zeros);
  EXPECT_GPTQ_ERROR(convert_checkpoint_format(v2, CheckpointFormat::V1), Status::InvalidArgument,
                    {"zero [0][9] = 0"});
  EXPECT_EQ(v2.format, CheckpointFormat::V2);
}

TEST(GptqPacking, V1StoresZeroMinusOne) {
  // Symmetric 4-bit: true zero 8 is stored as 7 in v1, 8 in v2 (FORMAT.md).
  std::vector<std::uint8_t> codes(8 * 32, 3);
  std::vector<float> scales(32, 0.5f);
  std::vector<std::int32_t> zeros(32, 8), g_idx(8, 0);
  const auto v1 = pack_gptq(codes.data(), scales.data(), zeros.data(), g_idx.data(), 32, 8, 1, 4, CheckpointFormat::V1);
  const auto v2 = pack_gptq(codes.data(), scales.data(), zeros.data(), g_idx.data(), 32, 8, 1, 4, CheckpointFormat::V2);
  EXPECT_EQ(static_cast<std::uint32_t>(v1.qzeros[0]), 0x77777777u);
  EXPECT_EQ(static_cast<std::uint32_t>(v2.qzeros[0]), 0x88888888u);
  EXPECT_EQ(static_cast<std::uint32_t>(v1.qweight[0]), 0x33333333u);
}

TEST(GptqPacking, QuantizedMatrixRoundTrips) {
  // 160 columns: the packer's tiles of 64, two whole and a part.
  const std::int64_t n = 160, k = 128;
  const auto w = random_matrix(n, k, 21, 0.05f);
  const auto h = hessian_of(correlated_activations(256, k, 22), k);
  for (int bits : {2, 3, 4, 8})
    for (bool act : {false, true})
      for (auto f : {CheckpointFormat::V1, CheckpointFormat::V2}) {
        QuantOptions o;
        o.bits = bits;
        o.group_size = 32;
        o.desc_act = act;
        o.sym = false;
        const QuantResult r = quantize_matrix(test_compute(), w.data(), n, k, h.data(), o);
        const PackedGptq p = pack_gptq(r, f);
        const UnpackedGptq u = unpack_gptq(p);
        EXPECT_EQ(u.codes, r.codes);
        EXPECT_EQ(u.zeros, r.zeros);
        EXPECT_EQ(u.g_idx, r.g_idx);
        // Dequantizing the checkpoint = the solver's matrix with fp16 scales.
        const auto d = dequantize_gptq(p);
        for (std::int64_t i = 0; i < n * k; ++i) {
          const auto idx = static_cast<std::size_t>(i);
          const auto gi = static_cast<std::size_t>(r.g_idx[static_cast<std::size_t>(i % k)] * n + i / k);
          const float s16 = half_to_float(float_to_half(r.scales[gi]));
          ASSERT_EQ(d[idx], s16 * (static_cast<float>(r.codes[idx]) - static_cast<float>(r.zeros[gi])));
        }
      }
}

TEST(GptqPacking, RejectsBadInputWithoutOutput) {
  std::vector<std::uint8_t> codes(32 * 64, 1);
  std::vector<float> scales(2 * 32, 0.1f);
  std::vector<std::int32_t> zeros(2 * 32, 4), g_idx(64, 0);
  auto pack = [&](std::int64_t n, std::int64_t k, std::int64_t g, int bits) {
    return pack_gptq(codes.data(), scales.data(), zeros.data(), g_idx.data(), n, k, g, bits, CheckpointFormat::V1);
  };
  auto expect_invalid = [](auto &&fn, const char *what) {
    try {
      fn();
      ADD_FAILURE() << "no error for " << what;
    } catch (const Error &e) {
      EXPECT_EQ(e.status(), Status::InvalidArgument) << what;
    }
  };
  expect_invalid([&] { pack(32, 64, 2, 5); }, "bits 5");
  expect_invalid([&] { pack(32, 60, 2, 3); }, "K*3 % 32");
  expect_invalid([&] { pack(20, 64, 2, 4); }, "N*4 % 32");
  expect_invalid([&] { pack(0, 64, 2, 4); }, "N = 0");
  codes[5] = 16;
  expect_invalid([&] { pack(32, 64, 2, 4); }, "code 16 at 4 bits");
  codes[5] = 1;
  zeros[3] = -1;
  expect_invalid([&] { pack(32, 64, 2, 4); }, "zero -1");
  zeros[3] = 4;
  g_idx[7] = 2;
  expect_invalid([&] { pack(32, 64, 2, 4); }, "g_idx 2 of 2 groups");
  g_idx[7] = 0;
  scales[0] = 1e6f;
  expect_invalid([&] { pack(32, 64, 2, 4); }, "scale inf in fp16");
  scales[0] = 0.1f;
  PackedGptq p = pack(32, 64, 2, 4);
  p.qweight.pop_back();
  expect_invalid([&] { (void)unpack_gptq(p); }, "short qweight");
}

}  // namespace
}  // namespace gptq::quant
