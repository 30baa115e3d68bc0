// The int4/int8 GPTQ kernels (cuda/kernels) against dequantize-on-the-host
// + cuBLAS (fp16 operands, fp32 accumulation) on odd shapes: N not a multiple
// of 16, K not a multiple of 64 (or 16), small N (split K), act-order with a
// shuffled g_idx, ragged groups, sym and asym, with and without bias, for
// every kernel the dispatch picks (m = 1..300). Also: two runs give the same
// bits, every output is written, and bad layers are refused with the field
// named (those cases need no GPU).
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/cublas_check.h"
#include "cuda/cuda_check.h"
#include "cuda/device_memory.h"
#include "cuda/kernels/gptq_linear.h"
#include "cuda/kernels/gptq_wgmma.h"
#include "tests/support/cuda_device.h"

namespace gptq::cuda {
namespace {

struct Case {
  const char *name;
  int bits;
  std::int64_t n, k;
  int group_size;  // -1: one group; 0: 5 groups of random, ragged membership
  bool symmetric;
  bool act_order;  // g_idx shuffled
  bool bias;
};

// A layer in the normalized form the core hands over, and what it stands for.
struct Layer {
  std::vector<std::uint8_t> codes;
  std::vector<std::int32_t> zeros, g_idx;
  std::vector<float> scales, bias;
  HostGptqLinear host;
  std::vector<__half> dequant;  // [n][k]: fp16(scale * (code - zero))
};

// g_idx: another layer's (members of a fused group share it), or null for
// one drawn here.
Layer make_layer(const Case &c, std::mt19937 &rng, const std::vector<std::int32_t> *g_idx = nullptr) {
  Layer l;
  const std::int64_t n = c.n, k = c.k;
  std::int64_t groups = c.group_size > 0 ? (k + c.group_size - 1) / c.group_size : c.group_size < 0 ? 1 : 5;
  l.g_idx.resize(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < k; ++i)
    l.g_idx[static_cast<std::size_t>(i)] =
        c.group_size > 0 ? static_cast<std::int32_t>(i / c.group_size)
        : c.group_size < 0 ? 0
                           : static_cast<std::int32_t>(rng() % groups);
  if (c.act_order) std::shuffle(l.g_idx.begin(), l.g_idx.end(), rng);
  if (g_idx) l.g_idx = *g_idx;
  const int levels = 1 << c.bits;
  l.codes.resize(static_cast<std::size_t>(n * k));
  for (auto &v : l.codes) v = static_cast<std::uint8_t>(rng() % levels);
  l.zeros.resize(static_cast<std::size_t>(groups * n));
  for (auto &z : l.zeros) z = c.symmetric ? levels / 2 : static_cast<std::int32_t>(rng() % levels);
  std::uniform_real_distribution<float> sd(0.002f, 0.03f);
  l.scales.resize(static_cast<std::size_t>(groups * n));
  for (auto &s : l.scales) s = __half2float(__float2half_rn(sd(rng)));
  if (c.bias) {
    std::uniform_real_distribution<float> bd(-1.0f, 1.0f);
    l.bias.resize(static_cast<std::size_t>(n));
    for (auto &b : l.bias) b = bd(rng);
  }
  l.host = HostGptqLinear{c.bits, n, k, groups, l.codes.data(), l.zeros.data(), l.scales.data(),
                          l.g_idx.data(), c.bias ? l.bias.data() : nullptr};
  l.dequant.resize(static_cast<std::size_t>(n * k));
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t i = 0; i < k; ++i) {
      const std::size_t gi = static_cast<std::size_t>(l.g_idx[static_cast<std::size_t>(i)] * n + r);
      const float code = l.codes[static_cast<std::size_t>(r * k + i)];
      l.dequant[static_cast<std::size_t>(r * k + i)] =
          __float2half_rn(l.scales[gi] * (code - static_cast<float>(l.zeros[gi])));
    }
  return l;
}

class GptqLinearTest : public ::testing::TestWithParam<Case> {};

// y = x W^T in fp32 through cuBLAS (row-major x [m][k], W [n][k], y [m][n]).
void cublas_reference(cublasHandle_t h, const __half *x, const __half *w, float *y, int m, int n, int k) {
  const float one = 1.0f, zero = 0.0f;
  GPTQ_CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &one, w, CUDA_R_16F, k, x,
                                 CUDA_R_16F, k, &zero, y, CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                                 CUBLAS_GEMM_DEFAULT));
}

// The product of one layer (bits `got`, [m][n] fp16) against cuBLAS on its
// dequantized weight (ref, fp32) and the bound's sum |x||w| (bound), the
// bias added on the host.
void expect_near_reference(const std::vector<std::uint16_t> &got_bits, const std::vector<float> &ref,
                           const std::vector<float> &bound, const std::vector<float> &bias, int m, int n, int k,
                           bool scaled_after, const std::string &name) {
  // Both sides multiply fp16 operands exactly and add in fp32 in different
  // orders (tensor cores may truncate each addition): each sum is within
  // k * 2^-23 * sum|x w| of the exact one. The reference's weights are
  // fp16(scale * (code - zero)); when the scale is applied after the product
  // (scaled_after: the GEMV's fast path multiplies code - zero and scales the
  // fp32 sum) it misses the reference's rounding of each weight: at most
  // 2^-11 relative (every test scale keeps scale * (code - zero) a normal
  // fp16), 2^-11 * sum|x w| in all. Ours is then rounded to fp16: half an
  // ulp, 2^-11 relative (2^-25 absolute among subnormals).
  int bad = 0;
  double err2 = 0, ref2 = 0, worst = 0;
  for (int r = 0; r < m; ++r)
    for (int j = 0; j < n; ++j) {
      const std::size_t i = static_cast<std::size_t>(r) * n + j;
      const float b = bias.empty() ? 0.0f : bias[static_cast<std::size_t>(j)];
      const double want = ref[i] + b;
      const double got = __half2float(__ushort_as_half(got_bits[i]));
      const double sum_abs = bound[i] + std::fabs(b);
      const double tol = std::ldexp(std::fabs(want), -11) + k * std::ldexp(sum_abs, -22) +
                         (scaled_after ? std::ldexp(bound[i], -11) : 0.0) + std::ldexp(1.0, -24);
      worst = std::max(worst, std::fabs(got - want) / tol);
      err2 += (got - want) * (got - want);
      ref2 += want * want;
      if (!(std::fabs(got - want) <= tol) && bad++ < 5)
        ADD_FAILURE() << "y[" << r << "][" << j << "] = " << got << ", reference " << want << " (tolerance " << tol
                      << ")";
    }
  std::printf("%s m=%d%s: relative error %.3g, worst |error| / tolerance %.3f\n", name.c_str(), m,
              scaled_after ? " (scale after the product)" : "", std::sqrt(err2 / std::max(ref2, 1e-30)), worst);
  EXPECT_EQ(bad, 0) << "outputs out of tolerance";
  EXPECT_LT(std::sqrt(err2 / std::max(ref2, 1e-30)), 1e-3) << "relative Frobenius error";
}

TEST_P(GptqLinearTest, MatchesDequantizedCublas) {
  GPTQ_REQUIRE_DEVICE();
  const Case c = GetParam();
  std::mt19937 rng(1234u + static_cast<unsigned>(c.n * 7 + c.k));
  const Layer l = make_layer(c, rng);
  cudaStream_t stream = nullptr;
  GPTQ_CUDA_CHECK(cudaStreamCreate(&stream));
  cublasHandle_t blas = nullptr;
  GPTQ_CUBLAS_CHECK(cublasCreate(&blas));
  GPTQ_CUBLAS_CHECK(cublasSetStream(blas, stream));
  // The dispatch's choice, the kernels of every GPU (the H200 otherwise
  // runs wgmma for 33..128 rows) and, where wgmma runs, each of its tile
  // shapes with its own split of K and with 3 splits.
  const GptqPacked packed = repack_gptq(l.host);
  struct Variant {
    std::string name;
    LinearTuning tuning;
    std::unique_ptr<DeviceLinear> linear;
  };
  std::vector<Variant> variants;
  variants.push_back({"auto", {}, make_gptq_linear(l.host, stream)});
  const LinearTuning portable{LinearTuning::Path::kPortable, -1, 0};
  variants.push_back({"portable", portable, make_gptq_linear(packed, stream, portable)});
  if (kernels::wgmma_usable()) {
    for (int cfg = 0; cfg < static_cast<int>(std::size(kernels::kWgmmaConfigs)); ++cfg)
      for (int splits : {0, 3}) {
        const LinearTuning forced{LinearTuning::Path::kWgmma, cfg, splits};
        variants.push_back({"wgmma config " + std::to_string(cfg) + " splits " + std::to_string(splits), forced,
                            make_gptq_linear(packed, stream, forced)});
      }
  } else {
    std::printf("wgmma not usable on this device: its forced variants are not run\n");
  }
  for (const Variant &v : variants) {
    ASSERT_EQ(v.linear->in_features(), c.k);
    ASSERT_EQ(v.linear->out_features(), c.n);
  }

  const int n = static_cast<int>(c.n), k = static_cast<int>(c.k);
  // |W|, for the error bound's sum of |x_k w_k|.
  std::vector<__half> wabs(l.dequant.size());
  for (std::size_t i = 0; i < wabs.size(); ++i) wabs[i] = __habs(l.dequant[i]);
  DeviceArray<__half> dw(l.dequant.size(), "dw"), dwabs(wabs.size(), "dwabs");
  GPTQ_CUDA_CHECK(cudaMemcpy(dw.get(), l.dequant.data(), l.dequant.size() * 2, cudaMemcpyHostToDevice));
  GPTQ_CUDA_CHECK(cudaMemcpy(dwabs.get(), wabs.data(), wabs.size() * 2, cudaMemcpyHostToDevice));

  for (int m : {1, 7, 16, 17, 33, 64, 65, 300}) {
    SCOPED_TRACE("m = " + std::to_string(m));
    std::uniform_real_distribution<float> xd(-1.0f, 1.0f);
    std::vector<__half> x(static_cast<std::size_t>(m) * k), xabs(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = __float2half_rn(xd(rng));
      xabs[i] = __habs(x[i]);
    }
    DeviceArray<__half> dx(x.size(), "dx"), dxabs(x.size(), "dxabs"), dy(static_cast<std::size_t>(m) * n, "dy");
    DeviceArray<float> dref(static_cast<std::size_t>(m) * n, "dref"), dbound(static_cast<std::size_t>(m) * n, "dbound");
    GPTQ_CUDA_CHECK(cudaMemcpy(dx.get(), x.data(), x.size() * 2, cudaMemcpyHostToDevice));
    GPTQ_CUDA_CHECK(cudaMemcpy(dxabs.get(), xabs.data(), x.size() * 2, cudaMemcpyHostToDevice));
    cublas_reference(blas, dx.get(), dw.get(), dref.get(), m, n, k);
    cublas_reference(blas, dxabs.get(), dwabs.get(), dbound.get(), m, n, k);
    std::vector<float> ref(static_cast<std::size_t>(m) * n), bound(ref.size());
    GPTQ_CUDA_CHECK(cudaMemcpy(ref.data(), dref.get(), ref.size() * 4, cudaMemcpyDeviceToHost));
    GPTQ_CUDA_CHECK(cudaMemcpy(bound.data(), dbound.get(), bound.size() * 4, cudaMemcpyDeviceToHost));

    for (const Variant &v : variants) {
      const std::string kernel = gptq_linear_kernel(*v.linear, m);
      SCOPED_TRACE(v.name + ": " + kernel);
      // A forced variant runs the kernel it asks for.
      const bool on_wgmma = kernel.rfind("wgmma", 0) == 0;
      switch (v.tuning.path) {
        case LinearTuning::Path::kWgmma: {
          // The shape asked for, or the one that stands in for it on a layer
          // it does not take (wgmma_config_for).
          const kernels::WgmmaConfig runs = kernels::wgmma_config_for(
              kernels::kWgmmaConfigs[v.tuning.wgmma_config], packed.bits, packed.tile_group_shift);
          int index = 0;
          while (kernels::kWgmmaConfigs[index] != runs) ++index;
          EXPECT_EQ(kernel.rfind("wgmma " + std::to_string(index), 0), 0u);
          break;
        }
        case LinearTuning::Path::kPortable:
          EXPECT_FALSE(on_wgmma);
          break;
        case LinearTuning::Path::kAuto:
          if (kernels::wgmma_usable()) {
            // The warp-specialized kernel takes 4-bit layers of uniform
            // groups from 17 rows on; the older one 33..128 rows of others.
            const bool tma = kernels::wgmma_config_for(kernels::WgmmaConfig::kTmaN256, packed.bits,
                                                       packed.tile_group_shift) == kernels::WgmmaConfig::kTmaN256;
            EXPECT_EQ(on_wgmma, tma ? m >= 17 : m >= 33 && m <= 128);
          }
          break;
      }
      const std::size_t ws_bytes = v.linear->workspace_bytes(m);
      DeviceArray<char> ws(ws_bytes, "ws");
      const LinearCall call{stream, blas, ws.get(), ws_bytes};
      std::vector<std::vector<std::uint16_t>> runs;
      // Two runs, and a third with the fast path's ALIGNED builds turned off
      // (GPTQ_GEMV_ALIGNED=0; the same operations in the same order). The
      // uniform-group shapes of at most 264 n-tiles run its TAIL build at
      // m <= 8 on the H200 (a block per n-tile): asym4_wide_long's warps
      // take 10 k-tiles and one 3, asym4_wide_k8320's 17 and 11, the short
      // shapes' one or none.
      for (int run = 0; run < 3; ++run) {
        // NaN everywhere first: an output the kernels skip fails below.
        GPTQ_CUDA_CHECK(cudaMemsetAsync(dy.get(), 0xff, static_cast<std::size_t>(m) * n * 2, stream));
        GPTQ_CUDA_CHECK(cudaMemsetAsync(ws.get(), 0xff, ws_bytes, stream));
        if (run == 2) ::setenv("GPTQ_GEMV_ALIGNED", "0", 1);
        v.linear->forward(dx.get(), dy.get(), m, call);
        ::unsetenv("GPTQ_GEMV_ALIGNED");
        runs.emplace_back(static_cast<std::size_t>(m) * n);
        GPTQ_CUDA_CHECK(cudaMemcpyAsync(runs.back().data(), dy.get(), runs.back().size() * 2,
                                        cudaMemcpyDeviceToHost, stream));
        GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
      }
      EXPECT_EQ(runs[0], runs[1]) << "two runs of the same product differ (a race?)";
      EXPECT_EQ(runs[0], runs[2]) << "the fast path's ALIGNED build (or its TAIL) differs from its general one";
      // The GEMV's fast path (4-bit, m <= 16, uniform groups) applies the
      // scale after the product; the other kernels do not.
      const bool scaled_after = kernel.rfind("gemv", 0) == 0 && c.bits == 4 && m <= 16 && packed.tile_group_shift >= 0;
      expect_near_reference(runs[0], ref, bound, l.bias, m, n, k, scaled_after,
                            std::string(c.name) + " / " + v.name + " (" + kernel + ")");
    }
  }
  cublasDestroy(blas);
  cudaStreamDestroy(stream);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GptqLinearTest,
    ::testing::Values(Case{"sym4_g128", 4, 256, 512, 128, true, false, false},
                      Case{"asym4_g128_actorder_bias", 4, 72, 384, 128, false, true, true},
                      Case{"asym4_g32_k416_bias", 4, 136, 416, 32, false, false, true},
                      Case{"sym4_onegroup_k300", 4, 40, 300, -1, true, false, false},
                      Case{"asym4_ragged_groups_actorder", 4, 48, 200, 0, false, true, true},
                      Case{"asym4_wide_short", 4, 2200, 256, 128, false, false, true},
                      Case{"asym4_wide_long_actorder", 4, 2200, 4672, 128, false, true, true},
                      Case{"asym8_g128_actorder", 8, 96, 640, 128, false, true, false},
                      Case{"sym8_g32_bias", 8, 24, 160, 32, true, false, true},
                      Case{"sym8_wide_long", 8, 2200, 4672, 128, true, false, false},
                      // Rows of K too long to stage in shared memory: the L1 path.
                      Case{"asym4_wide_k8320", 4, 2112, 8320, 128, false, false, false},
                      Case{"asym4_g128_n1000_k2048_actorder", 4, 1000, 2048, 128, false, true, true},
                      // More n-tiles than a wave of GEMV blocks: the fast path's
                      // blocks take two each (ring loads jump between them), and
                      // with 5 k-tiles three of a block's 8 warps have none.
                      Case{"asym4_g128_n8200_k1000_bias", 4, 8200, 1000, 128, false, false, true},
                      Case{"sym4_onegroup_n7000_k320", 4, 7000, 320, -1, true, false, false},
                      // K a multiple of 4096 in one split: the fast path's
                      // ALIGNED build (whole 8-k-tile chunks per warp), with
                      // groups of 128 under act-order, of 64 over two chunks
                      // per warp and two or three n-tiles per block, of 1024.
                      Case{"asym4_g128_n2200_k4096_actorder_bias", 4, 2200, 4096, 128, false, true, true},
                      Case{"sym4_g64_n6400_k8192", 4, 6400, 8192, 64, true, false, false},
                      Case{"asym4_g1024_n6400_k4096", 4, 6400, 4096, 1024, false, false, false}),
    [](const ::testing::TestParamInfo<Case> &p) { return std::string(p.param.name); });

TEST(GptqLinearWorkspace, TooSmallIsAnError) {
  GPTQ_REQUIRE_DEVICE();
  std::mt19937 rng(7);
  const Layer l = make_layer(Case{"small", 4, 32, 128, 64, false, true, false}, rng);
  const auto linear = make_gptq_linear(l.host, nullptr);
  ASSERT_GT(linear->workspace_bytes(4), 0u);
  DeviceArray<__half> x(4 * 128, "x"), y(4 * 32, "y");
  const LinearCall call{nullptr, nullptr, nullptr, 0};
  try {
    linear->forward(x.get(), y.get(), 4, call);
    FAIL() << "a missing workspace was accepted";
  } catch (const CudaError &e) {
    EXPECT_NE(std::string(e.what()).find("workspace"), std::string::npos) << e.what();
  }
}

// Bad layers are refused before anything touches the device (no GPU needed).
std::string refusal(const HostGptqLinear &w) {
  try {
    repack_gptq(w);
  } catch (const std::invalid_argument &e) {
    return e.what();
  }
  return "";
}

TEST(GptqRepack, RefusesWhatTheKernelsCannotRun) {
  std::mt19937 rng(3);
  Layer l = make_layer(Case{"v", 4, 16, 64, 32, false, false, false}, rng);
  HostGptqLinear w = l.host;
  w.bits = 3;
  EXPECT_NE(refusal(w).find("bits = 3 has no fast kernel"), std::string::npos) << refusal(w);
  w = l.host;
  w.bits = 5;
  EXPECT_NE(refusal(w).find("bits = 5"), std::string::npos) << refusal(w);
  w = l.host;
  l.codes[1 * 64 + 2] = 16;
  EXPECT_NE(refusal(w).find("codes[1][2] = 16"), std::string::npos) << refusal(w);
  l.codes[1 * 64 + 2] = 15;
  l.g_idx[5] = 2;
  EXPECT_NE(refusal(w).find("g_idx[5] = 2"), std::string::npos) << refusal(w);
  l.g_idx[5] = 0;
  l.zeros[17] = 2000;
  EXPECT_NE(refusal(w).find("zeros[1][1] = 2000"), std::string::npos) << refusal(w);
  l.zeros[17] = 3;
  l.scales[3] = INFINITY;
  EXPECT_NE(refusal(w).find("scales[0][3]"), std::string::npos) << refusal(w);
  l.scales[3] = 0.01f;
  w.codes = nullptr;
  EXPECT_NE(refusal(w).find("codes is null"), std::string::npos) << refusal(w);
  w = l.host;
  w.in_features = 0;
  EXPECT_NE(refusal(w).find("in_features = 0"), std::string::npos) << refusal(w);
  EXPECT_EQ(refusal(l.host), "");
}

// The layout facts the kernels rely on: groups start on multiples of 16,
// K is padded to 64, identity needs no permutation, symmetry is detected.
TEST(GptqRepack, OrdersGroupsAndPads) {
  std::mt19937 rng(5);
  Layer plain = make_layer(Case{"p", 4, 16, 256, 128, true, false, false}, rng);
  GptqPacked p = repack_gptq(plain.host);
  EXPECT_EQ(p.tile_group_shift, 1) << "g128: two k-tiles per group";
  EXPECT_TRUE(p.perm.empty());
  EXPECT_TRUE(p.symmetric);
  EXPECT_EQ(p.k_pad, 256);
  EXPECT_EQ(p.qweight.size(), 1u * 4 * 32 * 4);

  // The GEMV's fast path: groups of 64 << shift repacked columns.
  Layer uniform_actorder = make_layer(Case{"u", 4, 16, 4672, 128, false, true, false}, rng);
  EXPECT_EQ(repack_gptq(uniform_actorder.host).tile_group_shift, 1) << "act-order g128, a short last group";
  Layer one_group = make_layer(Case{"o", 4, 16, 300, -1, true, false, false}, rng);
  EXPECT_EQ(repack_gptq(one_group.host).tile_group_shift, 3) << "one group: 320 padded columns in one of 512";
  Layer g32 = make_layer(Case{"g32", 4, 16, 416, 32, false, false, false}, rng);
  EXPECT_EQ(repack_gptq(g32.host).tile_group_shift, -1) << "g32: two groups per k-tile";

  Layer ragged = make_layer(Case{"r", 8, 16, 200, 0, false, true, false}, rng);
  p = repack_gptq(ragged.host);
  EXPECT_EQ(p.tile_group_shift, -1) << "ragged groups";
  EXPECT_FALSE(p.symmetric);
  ASSERT_EQ(static_cast<std::int64_t>(p.perm.size()), p.k_pad);
  EXPECT_EQ(p.k_pad % 64, 0);
  std::vector<int> seen(200, 0);
  for (std::int64_t kk = 0; kk < p.k_pad; ++kk) {
    const int src = p.perm[static_cast<std::size_t>(kk)];
    if (src < 0) continue;
    ++seen[static_cast<std::size_t>(src)];
    EXPECT_EQ(ragged.g_idx[static_cast<std::size_t>(src)], p.chunk_group[static_cast<std::size_t>(kk / 16)])
        << "column " << kk;
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 200) << "every column exactly once";
}

// Linears of one input fused into one product (fuse_gptq: q/k/v, gate/up).
struct FusedCase {
  const char *name;
  int bits;
  std::int64_t k;
  int group_size;
  bool symmetric, act_order;
  std::vector<std::int64_t> n;  // the members' out_features
  std::vector<bool> bias;       // which members have one
};

// The members of `c`, sharing one g_idx (GPTQ gives q/k/v one permutation).
std::vector<Layer> make_members(const FusedCase &c, std::mt19937 &rng) {
  std::vector<Layer> members;
  for (std::size_t i = 0; i < c.n.size(); ++i) {
    const Case one{"member", c.bits, c.n[i], c.k, c.group_size, c.symmetric, c.act_order, c.bias[i]};
    members.push_back(make_layer(one, rng, i == 0 ? nullptr : &members[0].g_idx));
  }
  return members;
}

GptqPacked fuse_or_fail(const std::vector<Layer> &members) {
  std::vector<GptqPacked> packed;
  std::vector<const GptqPacked *> ptrs;
  std::vector<std::string> names;
  for (const Layer &l : members) packed.push_back(repack_gptq(l.host));
  for (std::size_t i = 0; i < packed.size(); ++i) {
    ptrs.push_back(&packed[i]);
    names.push_back("member " + std::to_string(i));
  }
  std::string why;
  std::optional<GptqPacked> f = fuse_gptq(ptrs, names, &why);
  if (!f) throw std::runtime_error("fusion refused: " + why);
  return std::move(*f);
}

class GptqFusedTest : public ::testing::TestWithParam<FusedCase> {};

// Each member's columns land in its own buffer, as the member's own product
// would put them (within the rounding bound of the single-layer test), for
// every kernel the dispatch picks; nothing is written past a part (the
// guard after each stays NaN); two runs give the same bits.
TEST_P(GptqFusedTest, EachPartMatchesItsMember) {
  GPTQ_REQUIRE_DEVICE();
  const FusedCase c = GetParam();
  std::mt19937 rng(99u + static_cast<unsigned>(c.k));
  const std::vector<Layer> members = make_members(c, rng);
  cudaStream_t stream = nullptr;
  GPTQ_CUDA_CHECK(cudaStreamCreate(&stream));
  cublasHandle_t blas = nullptr;
  GPTQ_CUBLAS_CHECK(cublasCreate(&blas));
  GPTQ_CUBLAS_CHECK(cublasSetStream(blas, stream));
  const GptqPacked packed = fuse_or_fail(members);
  // The fused layer keeps its members' group layout, so the GEMV's fast path
  // (scale after the product) takes it as it takes them.
  EXPECT_EQ(packed.tile_group_shift, repack_gptq(members[0].host).tile_group_shift);
  const auto fused = make_gptq_linear(packed, stream);
  const int parts = static_cast<int>(members.size()), k = static_cast<int>(c.k);
  ASSERT_EQ(fused->parts(), parts);
  std::int64_t total = 0;
  for (int i = 0; i < parts; ++i) {
    EXPECT_EQ(fused->part_features(i), c.n[static_cast<std::size_t>(i)]);
    total += c.n[static_cast<std::size_t>(i)];
  }
  EXPECT_EQ(fused->out_features(), total);
  EXPECT_EQ(fused->in_features(), c.k);

  std::vector<std::unique_ptr<DeviceArray<__half>>> dw, dwabs;
  for (const Layer &l : members) {
    std::vector<__half> wabs(l.dequant.size());
    for (std::size_t i = 0; i < wabs.size(); ++i) wabs[i] = __habs(l.dequant[i]);
    dw.push_back(std::make_unique<DeviceArray<__half>>(l.dequant.size(), "dw"));
    dwabs.push_back(std::make_unique<DeviceArray<__half>>(wabs.size(), "dwabs"));
    GPTQ_CUDA_CHECK(cudaMemcpy(dw.back()->get(), l.dequant.data(), l.dequant.size() * 2, cudaMemcpyHostToDevice));
    GPTQ_CUDA_CHECK(cudaMemcpy(dwabs.back()->get(), wabs.data(), wabs.size() * 2, cudaMemcpyHostToDevice));
  }

  constexpr std::size_t kGuard = 64;  // halves after each part's [m][n]
  for (int m : {1, 5, 16, 17, 40, 64, 65, 127, 128, 300}) {
    SCOPED_TRACE("m = " + std::to_string(m));
    std::uniform_real_distribution<float> xd(-1.0f, 1.0f);
    std::vector<__half> x(static_cast<std::size_t>(m) * k), xabs(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = __float2half_rn(xd(rng));
      xabs[i] = __habs(x[i]);
    }
    DeviceArray<__half> dx(x.size(), "dx"), dxabs(x.size(), "dxabs");
    GPTQ_CUDA_CHECK(cudaMemcpy(dx.get(), x.data(), x.size() * 2, cudaMemcpyHostToDevice));
    GPTQ_CUDA_CHECK(cudaMemcpy(dxabs.get(), xabs.data(), x.size() * 2, cudaMemcpyHostToDevice));
    std::vector<std::unique_ptr<DeviceArray<__half>>> dy;
    LinearParts out;
    out.count = parts;
    for (int i = 0; i < parts; ++i) {
      dy.push_back(std::make_unique<DeviceArray<__half>>(static_cast<std::size_t>(m) * c.n[static_cast<std::size_t>(i)] + kGuard, "dy"));
      out.y[i] = dy.back()->get();
    }
    const std::size_t ws_bytes = fused->workspace_bytes(m);
    DeviceArray<char> ws(ws_bytes, "ws");
    const LinearCall call{stream, blas, ws.get(), ws_bytes};
    std::vector<std::vector<std::vector<std::uint16_t>>> runs(2);
    for (int run = 0; run < 2; ++run) {
      for (int i = 0; i < parts; ++i)
        GPTQ_CUDA_CHECK(cudaMemsetAsync(out.y[i], 0xff,
                                        (static_cast<std::size_t>(m) * c.n[static_cast<std::size_t>(i)] + kGuard) * 2,
                                        stream));
      GPTQ_CUDA_CHECK(cudaMemsetAsync(ws.get(), 0xff, ws_bytes, stream));
      fused->forward_parts(dx.get(), out, m, call);
      for (int i = 0; i < parts; ++i) {
        runs[run].emplace_back(static_cast<std::size_t>(m) * c.n[static_cast<std::size_t>(i)] + kGuard);
        GPTQ_CUDA_CHECK(cudaMemcpyAsync(runs[run].back().data(), out.y[i], runs[run].back().size() * 2,
                                        cudaMemcpyDeviceToHost, stream));
      }
      GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
    EXPECT_EQ(runs[0], runs[1]) << "two runs of the same fused product differ (a race?)";
    for (int i = 0; i < parts; ++i) {
      SCOPED_TRACE("part " + std::to_string(i));
      const int n = static_cast<int>(c.n[static_cast<std::size_t>(i)]);
      std::vector<std::uint16_t> &got = runs[0][static_cast<std::size_t>(i)];
      const std::size_t size = static_cast<std::size_t>(m) * n;
      EXPECT_EQ(std::count(got.begin() + static_cast<std::ptrdiff_t>(size), got.end(), std::uint16_t{0xffff}),
                static_cast<std::ptrdiff_t>(kGuard))
          << "written past the part";
      got.resize(size);
      DeviceArray<float> dref(size, "dref"), dbound(size, "dbound");
      cublas_reference(blas, dx.get(), dw[static_cast<std::size_t>(i)]->get(), dref.get(), m, n, k);
      cublas_reference(blas, dxabs.get(), dwabs[static_cast<std::size_t>(i)]->get(), dbound.get(), m, n, k);
      std::vector<float> ref(size), bound(size);
      GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
      GPTQ_CUDA_CHECK(cudaMemcpy(ref.data(), dref.get(), size * 4, cudaMemcpyDeviceToHost));
      GPTQ_CUDA_CHECK(cudaMemcpy(bound.data(), dbound.get(), size * 4, cudaMemcpyDeviceToHost));
      const bool scaled_after = c.bits == 4 && m <= 16 && packed.tile_group_shift >= 0;
      expect_near_reference(got, ref, bound, members[static_cast<std::size_t>(i)].bias, m, n, k, scaled_after,
                            "fused part " + std::to_string(i));
    }
  }
  // A fused linear has no single output.
  EXPECT_THROW(fused->forward(nullptr, nullptr, 1, LinearCall{stream, blas, nullptr, 0}), CudaError);
  cublasDestroy(blas);
  cudaStreamDestroy(stream);
}

INSTANTIATE_TEST_SUITE_P(
    Groups, GptqFusedTest,
    ::testing::Values(
        // q/k/v of odd widths, act-order, the bias on two of three (qwen2's).
        FusedCase{"qkv_asym4_actorder_bias", 4, 320, 64, false, true, {37, 19, 50}, {true, false, true}},
        FusedCase{"qkv_sym4_g128_bias", 4, 512, 128, true, false, {64, 16, 16}, {true, true, true}},
        // gate/up: wide members (the GEMV needs no split of K), no bias, 8 bits.
        FusedCase{"gateup_sym8_g128", 8, 384, 128, true, false, {1000, 1000}, {false, false}},
        FusedCase{"gateup_asym4_k2112", 4, 2112, 128, false, false, {2200, 2200}, {false, false}}),
    [](const ::testing::TestParamInfo<FusedCase> &p) { return std::string(p.param.name); });

// fuse_gptq refuses members the kernels cannot read as one layout, saying
// what differs; what it makes is the members' tiles one after another (no
// GPU needed).
TEST(GptqFuse, RefusesOtherLayoutsAndConcatenatesTiles) {
  std::mt19937 rng(11);
  const Case base{"q", 4, 37, 256, 64, false, true, true};
  const Layer q = make_layer(base, rng);
  auto with = [&](Case c, bool same_g_idx) { return make_layer(c, rng, same_g_idx ? &q.g_idx : nullptr); };
  auto refusal = [&](const Layer &other) {
    const GptqPacked a = repack_gptq(q.host), b = repack_gptq(other.host);
    std::string why;
    const std::optional<GptqPacked> f = fuse_gptq({&a, &b}, {"q projection", "k projection"}, &why);
    return f ? std::string("fused") : why;
  };
  Case c = base;
  c.group_size = 32;
  EXPECT_NE(refusal(with(c, false)).find("k projection has other groups (8) than q projection"), std::string::npos)
      << refusal(with(c, false));
  c = base;  // same group size, another act-order permutation
  EXPECT_NE(refusal(with(c, false)).find("another column order"), std::string::npos) << refusal(with(c, false));
  c = base;
  c.bits = 8;
  EXPECT_NE(refusal(with(c, true)).find("other bits (8)"), std::string::npos) << refusal(with(c, true));
  c = base;
  c.symmetric = true;
  EXPECT_NE(refusal(with(c, true)).find("k projection stores no zeros (symmetric), other than q projection"), std::string::npos) << refusal(with(c, true));
  c = base;
  c.k = 320;
  EXPECT_NE(refusal(with(c, false)).find("another in_features (320)"), std::string::npos) << refusal(with(c, false));

  c = base;
  c.n = 21;
  c.bias = false;
  const Layer k = with(c, true);
  const GptqPacked a = repack_gptq(q.host), b = repack_gptq(k.host);
  std::string why;
  const std::optional<GptqPacked> f = fuse_gptq({&a, &b}, {"q projection", "k projection"}, &why);
  ASSERT_TRUE(f.has_value()) << why;
  EXPECT_EQ(f->parts, (std::vector<std::int64_t>{37, 21}));
  EXPECT_EQ(f->n_tiles, 3 + 2);
  EXPECT_EQ(f->n, 48 + 21);  // the second member from tile 3 on
  std::vector<std::uint32_t> words = a.qweight;
  words.insert(words.end(), b.qweight.begin(), b.qweight.end());
  EXPECT_EQ(f->qweight, words);
  ASSERT_EQ(f->bias.size(), 69u);
  EXPECT_EQ(f->bias[36], q.bias[36]);
  EXPECT_EQ(f->bias[47], 0.0f);
  EXPECT_EQ(f->bias[60], 0.0f) << "k has no bias: zeros";
  EXPECT_EQ(f->perm, a.perm);
}

}  // namespace
}  // namespace gptq::cuda
