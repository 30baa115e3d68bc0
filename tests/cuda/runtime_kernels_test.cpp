// The forward runtime's own kernels (cuda/runtime/attention.h, kernels.h)
// against host references in double on odd shapes: attention for prefill
// and decode over several 128-key tiles, GQA, a sliding window and a cache
// larger than what is used; RMSNorm and LayerNorm at widths that are not a
// multiple of the block; RoPE with the store into the cache. Each result is
// also bit-stable from one launch to the next. No cuBLAS here, so
// `compute-sanitizer --tool racecheck` checks these kernels alone.
#include <gtest/gtest.h>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/runtime/attention.h"
#include "cuda/runtime/device_buffer.h"
#include "cuda/runtime/kernels.h"

namespace gptq::cuda {
namespace {

std::string no_gpu_reason() {
  int n = 0;
  const cudaError_t st = cudaGetDeviceCount(&n);
  if (st != cudaSuccess) return std::string(cudaGetErrorName(st)) + ": " + cudaGetErrorString(st);
  return n == 0 ? "no CUDA device present" : "";
}

#define GPTQ_REQUIRE_DEVICE()                                           \
  do {                                                                  \
    const std::string why = no_gpu_reason();                            \
    if (!why.empty()) GTEST_SKIP() << "no usable GPU: " << why;         \
  } while (0)

// Deterministic values in [-scale, scale], rounded to fp16 where `half`.
std::vector<float> values(std::size_t n, std::uint32_t seed, float scale, bool half = true) {
  std::vector<float> v(n);
  for (float &x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = (static_cast<float>(seed >> 8) / 8388608.0f - 1.0f) * scale;
    if (half) x = __half2float(__float2half_rn(x));
  }
  return v;
}

DeviceBuffer to_device_half(const std::vector<float> &v) { return upload_half(v.data(), v.size(), "test"); }

std::vector<float> from_device_half(const DeviceBuffer &b, std::size_t n) {
  std::vector<__half> h(n);
  GPTQ_CUDA_CHECK(cudaMemcpy(h.data(), b.get(), n * sizeof(__half), cudaMemcpyDeviceToHost));
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = __half2float(h[i]);
  return out;
}

struct AttentionCase {
  std::int64_t batch, seq, past, capacity, heads, kv_heads, head_dim, window;
};

void check_attention(const AttentionCase &c) {
  const std::int64_t rows = c.batch * c.seq, qw = c.heads * c.head_dim;
  const std::int64_t cache_n = c.batch * c.kv_heads * c.capacity * c.head_dim;
  const auto q = values(static_cast<std::size_t>(rows * qw), 1, 1.0f);
  const auto k = values(static_cast<std::size_t>(cache_n), 2, 1.0f);
  const auto v = values(static_cast<std::size_t>(cache_n), 3, 1.0f);
  const DeviceBuffer dq = to_device_half(q), dk = to_device_half(k), dv = to_device_half(v);
  const DeviceBuffer out(static_cast<std::size_t>(rows * qw) * sizeof(__half), "test");
  AttentionArgs a;
  a.q = dq.as<const __half>();
  a.k_cache = dk.as<const __half>();
  a.v_cache = dv.as<const __half>();
  a.out = out.as<__half>();
  a.batch = c.batch;
  a.seq = c.seq;
  a.past = c.past;
  a.capacity = c.capacity;
  a.heads = c.heads;
  a.kv_heads = c.kv_heads;
  a.head_dim = c.head_dim;
  a.window = c.window;
  causal_attention(a, nullptr);
  GPTQ_CUDA_CHECK(cudaDeviceSynchronize());
  const auto got = from_device_half(out, static_cast<std::size_t>(rows * qw));
  causal_attention(a, nullptr);
  GPTQ_CUDA_CHECK(cudaDeviceSynchronize());
  EXPECT_EQ(std::memcmp(got.data(), from_device_half(out, got.size()).data(), got.size() * sizeof(float)), 0)
      << "not bit-stable";
  // The position read from device memory (a captured decode step), with
  // past only bounding it: the same bits.
  const DeviceBuffer past_at = upload(&c.past, 1, "test");
  a.past_at = past_at.as<const std::int64_t>();
  a.past = c.capacity - c.seq;
  causal_attention(a, nullptr);
  GPTQ_CUDA_CHECK(cudaDeviceSynchronize());
  EXPECT_EQ(std::memcmp(got.data(), from_device_half(out, got.size()).data(), got.size() * sizeof(float)), 0)
      << "the position read from device memory gives other results";

  const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
  double worst = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t b = r / c.seq, pos = c.past + r % c.seq;
    const std::int64_t lo = c.window > 0 ? std::max<std::int64_t>(0, pos - c.window + 1) : 0;
    for (std::int64_t h = 0; h < c.heads; ++h) {
      const std::int64_t g = h / (c.heads / c.kv_heads);
      const float *qr = q.data() + (r * c.heads + h) * c.head_dim;
      const std::int64_t base = (b * c.kv_heads + g) * c.capacity * c.head_dim;
      std::vector<double> p(static_cast<std::size_t>(pos - lo + 1));
      double m = -1e300, sum = 0;
      for (std::int64_t j = lo; j <= pos; ++j) {
        double s = 0;
        for (std::int64_t d = 0; d < c.head_dim; ++d) s += qr[d] * static_cast<double>(k[base + j * c.head_dim + d]);
        p[static_cast<std::size_t>(j - lo)] = s * scale;
        m = std::max(m, s * scale);
      }
      for (double &x : p) sum += (x = std::exp(x - m));
      for (std::int64_t d = 0; d < c.head_dim; ++d) {
        double o = 0;
        for (std::int64_t j = lo; j <= pos; ++j) o += p[static_cast<std::size_t>(j - lo)] * v[base + j * c.head_dim + d];
        worst = std::max(worst, std::abs(o / sum - got[(r * c.heads + h) * c.head_dim + d]));
      }
    }
  }
  // fp16 output of values below 1: half an ulp is at most 2^-12; fp32
  // accumulation adds far less.
  EXPECT_LE(worst, 6e-4) << "batch " << c.batch << " seq " << c.seq << " past " << c.past << " head_dim "
                         << c.head_dim << " window " << c.window;
}

TEST(RuntimeKernels, AttentionMatchesTheHostReference) {
  GPTQ_REQUIRE_DEVICE();
  check_attention({2, 1, 300, 320, 8, 2, 64, 0});    // decode, 3 tiles of keys, GQA 4:1
  check_attention({1, 200, 0, 200, 4, 4, 128, 0});   // prefill, 2 tiles
  check_attention({2, 37, 91, 160, 6, 3, 80, 50});   // continued prefill, sliding window, odd head_dim
  check_attention({1, 5, 0, 5, 2, 1, 256, 0});       // 2 output dims per thread
  check_attention({3, 1, 0, 1, 1, 1, 2, 0});         // one key
}

void check_norm(NormKind kind, std::int64_t rows, std::int64_t width, bool bias) {
  const auto x = values(static_cast<std::size_t>(rows * width), 7, 3.0f, false);
  const auto w = values(static_cast<std::size_t>(width), 8, 1.0f, false);
  const auto bs = values(static_cast<std::size_t>(width), 9, 0.5f, false);
  const DeviceBuffer dx = upload(x.data(), x.size(), "test"), dw = upload(w.data(), w.size(), "test");
  const DeviceBuffer db = bias ? upload(bs.data(), bs.size(), "test") : DeviceBuffer();
  const DeviceBuffer out(x.size() * sizeof(float), "test");
  const double eps = 1e-5;
  norm_rows(kind, dx.as<const float>(), dw.as<const float>(), db.as<const float>(), eps, rows, width,
            out.as<float>(), nullptr);
  std::vector<float> got(x.size());
  GPTQ_CUDA_CHECK(cudaMemcpy(got.data(), out.get(), got.size() * sizeof(float), cudaMemcpyDeviceToHost));
  double worst = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float *in = x.data() + r * width;
    double mean = 0, ss = 0;
    if (kind == NormKind::Layer) {
      for (std::int64_t i = 0; i < width; ++i) mean += in[i];
      mean /= static_cast<double>(width);
    }
    for (std::int64_t i = 0; i < width; ++i) ss += (in[i] - mean) * (in[i] - mean);
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(width) + eps);
    for (std::int64_t i = 0; i < width; ++i) {
      const double want = (in[i] - mean) * inv * w[i] + (bias ? bs[i] : 0.0);
      worst = std::max(worst, std::abs(want - got[r * width + i]));
    }
  }
  // Outputs up to ~|x| / rms * |w| < 4: fp32 sums of ~1000 terms.
  EXPECT_LE(worst, 2e-5) << "width " << width;
}

TEST(RuntimeKernels, NormsMatchTheHostReference) {
  GPTQ_REQUIRE_DEVICE();
  check_norm(NormKind::Rms, 5, 384, false);
  check_norm(NormKind::Rms, 3, 1001, false);
  check_norm(NormKind::Layer, 4, 384, true);
  check_norm(NormKind::Layer, 2, 77, true);
}

TEST(RuntimeKernels, RopeRotatesQAndStoresKeysAndValues) {
  GPTQ_REQUIRE_DEVICE();
  const std::int64_t batch = 2, seq = 3, past = 5, heads = 4, kv_heads = 2, hd = 16, capacity = 10;
  const std::int64_t rows = batch * seq;
  const auto q = values(static_cast<std::size_t>(rows * heads * hd), 11, 1.0f);
  const auto k = values(static_cast<std::size_t>(rows * kv_heads * hd), 12, 1.0f);
  const auto v = values(static_cast<std::size_t>(rows * kv_heads * hd), 13, 1.0f);
  std::vector<float> inv_freq(static_cast<std::size_t>(hd / 2));
  for (std::size_t i = 0; i < inv_freq.size(); ++i)
    inv_freq[i] = static_cast<float>(1.0 / std::pow(10000.0, 2.0 * static_cast<double>(i) / static_cast<double>(hd)));
  const DeviceBuffer dq = to_device_half(q), dk = to_device_half(k), dv = to_device_half(v);
  const DeviceBuffer df = upload(inv_freq.data(), inv_freq.size(), "test");
  const std::size_t cache_n = static_cast<std::size_t>(batch * kv_heads * capacity * hd);
  const DeviceBuffer kc = to_device_half(std::vector<float>(cache_n, 0.0f)), vc = to_device_half(std::vector<float>(cache_n, 0.0f));
  const DeviceBuffer dpast = upload(&past, 1, "test");
  rope_and_store_kv(dq.as<__half>(), dk.as<const __half>(), dv.as<const __half>(), df.as<const float>(), batch, seq,
                    dpast.as<const std::int64_t>(), heads, kv_heads, hd, kc.as<__half>(), vc.as<__half>(), capacity, nullptr);
  const auto gq = from_device_half(dq, q.size()), gk = from_device_half(kc, cache_n), gv = from_device_half(vc, cache_n);
  const auto rotate = [&](const float *x, std::int64_t pos, std::int64_t i, bool second) {
    const double a = static_cast<double>(static_cast<float>(pos) * inv_freq[static_cast<std::size_t>(i)]);
    const double x1 = x[i], x2 = x[i + hd / 2];
    return second ? x2 * std::cos(a) + x1 * std::sin(a) : x1 * std::cos(a) - x2 * std::sin(a);
  };
  double worst = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t b = r / seq, pos = past + r % seq;
    for (std::int64_t h = 0; h < heads; ++h)
      for (std::int64_t i = 0; i < hd; ++i) {
        const float *x = q.data() + (r * heads + h) * hd;
        const double want = rotate(x, pos, i % (hd / 2), i >= hd / 2);
        worst = std::max(worst, std::abs(want - gq[(r * heads + h) * hd + i]));
      }
    for (std::int64_t h = 0; h < kv_heads; ++h)
      for (std::int64_t i = 0; i < hd; ++i) {
        const std::int64_t at = ((b * kv_heads + h) * capacity + pos) * hd + i;
        const float *x = k.data() + (r * kv_heads + h) * hd;
        worst = std::max(worst, std::abs(rotate(x, pos, i % (hd / 2), i >= hd / 2) - gk[at]));
        EXPECT_EQ(gv[at], v[(r * kv_heads + h) * hd + i]);
      }
  }
  EXPECT_LE(worst, 1e-3);  // fp16 outputs below 1.5
  // Positions not written stay as they were.
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t h = 0; h < kv_heads; ++h)
      for (std::int64_t p = 0; p < capacity; ++p)
        if (p < past || p >= past + seq) {
          EXPECT_EQ(gk[((b * kv_heads + h) * capacity + p) * hd], 0.0f);
        }
}

}  // namespace
}  // namespace gptq::cuda
