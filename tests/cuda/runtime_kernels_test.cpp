// The forward runtime's own kernels (cuda/runtime/attention.h, kernels.h)
// against host references in double on odd shapes: attention (the tiled
// tensor-core kernel, its split-KV decode and the generic kernel) for
// prefill, continued prefill and decode, GQA/MQA, sliding windows, a cache
// larger than what is used; RMSNorm and LayerNorm at widths that are not a
// multiple of the block, alone and fused with the residual add; RoPE with the store into the cache, apart and
// inside the decode kernel. Each result is
// also bit-stable from one launch to the next. No cuBLAS here, so
// `compute-sanitizer --tool racecheck` checks these kernels alone.
#include <gtest/gtest.h>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/device_memory.h"
#include "cuda/host_staging.h"
#include "cuda/pinned_host_buffer.h"
#include "cuda/runtime/attention.h"
#include "cuda/runtime/device_buffer.h"
#include "cuda/runtime/kernels.h"
#include "cuda/plugin_error.h"
#include "tests/support/cuda_device.h"

namespace gptq::cuda {
namespace {

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

std::string describe(const AttentionCase &c) {
  return "batch " + std::to_string(c.batch) + " seq " + std::to_string(c.seq) + " past " + std::to_string(c.past) +
         " capacity " + std::to_string(c.capacity) + " heads " + std::to_string(c.heads) + "/" +
         std::to_string(c.kv_heads) + " head_dim " + std::to_string(c.head_dim) + " window " +
         std::to_string(c.window);
}

// causal_attention (for head_dim 64/128 the decode kernel for one new row
// and a KV head per query head, the tiled kernel otherwise, each
// split-KV when it splits; the generic kernel for the other head_dims)
// against a host reference in double
// from the same fp16 inputs. Queries in [-3, 3] so that the softmax is far
// from flat (a key masked wrongly moves the output well past the
// tolerance); the cache past the positions in use holds NaN, so a key read
// outside the range shows up as a NaN output.
//
// Tolerance per output: the tiled kernel rounds the probabilities (at most
// 1 after the running max is subtracted) to fp16 for P V: each weight off
// by at most 2^-11 relatively, or 2^-25 absolutely where it is subnormal,
// so the output by 2^-11 max|v| + keys * 2^-25 max|v| (the sum of the
// weights is at least 1); the output is rounded to fp16 (half an ulp:
// 2^-11 |o|); the fp32 scores (dot products of at most 128 terms, |q k|
// summing to < 200 here) move each weight by far less than 1e-4
// relatively.
void check_attention(const AttentionCase &c) {
  SCOPED_TRACE(describe(c));
  const std::int64_t rows = c.batch * c.seq, qw = c.heads * c.head_dim;
  const std::int64_t cache_n = c.batch * c.kv_heads * c.capacity * c.head_dim;
  const auto q = values(static_cast<std::size_t>(rows * qw), 1, 3.0f);
  auto k = values(static_cast<std::size_t>(cache_n), 2, 1.0f);
  auto v = values(static_cast<std::size_t>(cache_n), 3, 1.0f);
  for (std::int64_t i = 0; i < cache_n; ++i)
    if ((i / c.head_dim) % c.capacity >= c.past + c.seq) k[i] = v[i] = std::nanf("");
  const DeviceBuffer dq = to_device_half(q), dk = to_device_half(k), dv = to_device_half(v);
  const DeviceBuffer out(static_cast<std::size_t>(rows * qw) * sizeof(__half), "test");
  AttentionArgs a;
  a.q = dq.as<const __half>();
  a.k_cache = dk.as<__half>();
  a.v_cache = dv.as<__half>();
  a.out = out.as<__half>();
  a.batch = c.batch;
  a.seq = c.seq;
  a.past = c.past;
  a.capacity = c.capacity;
  a.heads = c.heads;
  a.kv_heads = c.kv_heads;
  a.head_dim = c.head_dim;
  a.window = c.window;
  // Workspace for this call and for the one below whose past only bounds
  // the position (it may split the keys into more, empty, parts).
  AttentionArgs bound = a;
  bound.past = c.capacity - c.seq;
  const std::size_t ws_bytes = std::max(attention_workspace_bytes(a), attention_workspace_bytes(bound));
  const DeviceBuffer ws(ws_bytes, "test");
  a.workspace = ws_bytes ? ws.get() : nullptr;
  causal_attention(a, nullptr);
  GPTQ_CUDA_CHECK(cudaDeviceSynchronize());
  const auto got = from_device_half(out, static_cast<std::size_t>(rows * qw));
  causal_attention(a, nullptr);
  GPTQ_CUDA_CHECK(cudaDeviceSynchronize());
  EXPECT_EQ(std::memcmp(got.data(), from_device_half(out, got.size()).data(), got.size() * sizeof(float)), 0)
      << "not bit-stable";
  // The position read from device memory (a captured decode step), with
  // past only bounding it: the same bits.
  const std::vector<std::int64_t> pasts(static_cast<std::size_t>(c.batch), c.past);
  const DeviceBuffer past_at = upload(pasts.data(), pasts.size(), "test");
  a.past_at = past_at.as<const std::int64_t>();
  a.past = c.capacity - c.seq;
  causal_attention(a, nullptr);
  GPTQ_CUDA_CHECK(cudaDeviceSynchronize());
  EXPECT_EQ(std::memcmp(got.data(), from_device_half(out, got.size()).data(), got.size() * sizeof(float)), 0)
      << "the position read from device memory gives other results";

  const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
  double worst = 0, worst_ratio = 0;
  std::int64_t bad = 0, non_finite = 0;
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
      std::vector<double> o(static_cast<std::size_t>(c.head_dim), 0.0);
      double vmax = 0;
      for (std::int64_t j = lo; j <= pos; ++j)
        for (std::int64_t d = 0; d < c.head_dim; ++d) {
          const double vj = v[base + j * c.head_dim + d];
          o[static_cast<std::size_t>(d)] += p[static_cast<std::size_t>(j - lo)] * vj;
          vmax = std::max(vmax, std::abs(vj));
        }
      for (std::int64_t d = 0; d < c.head_dim; ++d) {
        const double want = o[static_cast<std::size_t>(d)] / sum;
        const float have = got[(r * c.heads + h) * c.head_dim + d];
        if (!std::isfinite(have)) {
          ++non_finite;
          continue;
        }
        const double err = std::abs(want - have);
        const double tol =
            std::ldexp(vmax + std::abs(want), -11) + std::ldexp(static_cast<double>(pos - lo + 1) * vmax, -25) + 1e-4;
        worst = std::max(worst, err);
        worst_ratio = std::max(worst_ratio, err / tol);
        if (err > tol) ++bad;
      }
    }
  }
  std::printf("attention %s (workspace %zu bytes): max |error| %.3g, %.2f of the tolerance\n", describe(c).c_str(),
              ws_bytes, worst, worst_ratio);
  EXPECT_EQ(non_finite, 0) << "outputs not finite (a key outside the range was read)";
  EXPECT_EQ(bad, 0) << "outputs beyond the tolerance; worst error " << worst << " (" << worst_ratio
                    << " of the tolerance)";
}

TEST(RuntimeKernels, AttentionMatchesTheHostReference) {
  GPTQ_REQUIRE_DEVICE();
  // The generic kernel (head_dim neither 64 nor 128).
  check_attention({2, 37, 91, 160, 6, 3, 80, 50});   // continued prefill, sliding window
  check_attention({1, 5, 0, 5, 2, 1, 256, 0});       // 2 output dims per thread
  check_attention({3, 1, 0, 1, 1, 1, 2, 0});         // one key
  check_attention({1, 70, 0, 70, 4, 2, 96, 0});      // prefill
  check_attention({2, 1, 700, 800, 4, 1, 96, 0});    // decode, MQA
}

TEST(RuntimeKernels, TiledAttentionPrefillMatchesTheHostReference) {
  GPTQ_REQUIRE_DEVICE();
  check_attention({1, 600, 0, 600, 4, 4, 128, 0});    // rows and keys not multiples of the tiles
  check_attention({1, 200, 0, 200, 4, 4, 128, 0});
  check_attention({2, 77, 130, 300, 32, 8, 128, 0});  // continued prefill (chunked), GQA 4:1 packed rows
  check_attention({1, 129, 0, 129, 32, 32, 64, 0});   // 32/32, head_dim 64
  check_attention({1, 50, 20, 90, 8, 1, 64, 0});      // MQA: 8 heads share one KV head
  check_attention({2, 300, 40, 340, 4, 2, 128, 100}); // sliding window: whole tiles masked for some rows
  check_attention({1, 200, 300, 500, 2, 2, 64, 8});   // a window of 8: most of each tile masked
  check_attention({1, 9, 0, 9, 32, 32, 128, 0});      // 9 rows: one warp per block, one tile
  check_attention({3, 40, 1000, 1040, 4, 4, 64, 0});  // 40 new rows after 1000: split, empty splits
  // Enough blocks that a block walks several tiles (the two-stage pipeline):
  check_attention({16, 130, 0, 130, 32, 8, 128, 0});  // no split
  check_attention({4, 300, 0, 300, 16, 16, 64, 0});   // 2 tiles per split
}

TEST(RuntimeKernels, SplitDecodeMatchesTheHostReference) {
  GPTQ_REQUIRE_DEVICE();
  // A cache of 4200 positions: the calls with the position in device memory
  // and past = 4199 split the keys as for 4200 and must give the same bits.
  for (std::int64_t past : {0, 1, 63, 64, 65, 1000, 4095})
    check_attention({2, 1, past, 4200, 32, 8, 128, 0});
  check_attention({1, 1, 2047, 2048, 32, 32, 128, 0});  // Llama-2-7B shape, batch 1
  check_attention({3, 1, 511, 600, 32, 32, 64, 0});
  check_attention({2, 4, 500, 504, 32, 8, 128, 0});     // 4 rows x 4 heads fill one warp's 16 rows
  check_attention({1, 1, 1500, 1501, 32, 1, 128, 0});   // MQA: 32 rows, two warps' worth
  check_attention({2, 1, 3000, 3001, 8, 2, 128, 256});  // sliding window in decode
  // The decode kernel (a KV head per query head): positions not multiples
  // of its 32-key chunks, one chunk, a window cutting chunks, and groups of
  // 7 and 2 (the tensor-core kernel).
  check_attention({2, 1, 900, 1000, 8, 8, 128, 0});
  check_attention({3, 1, 20, 100, 16, 16, 64, 0});
  check_attention({2, 1, 1500, 1600, 4, 4, 128, 100});
  check_attention({1, 1, 900, 1000, 28, 4, 128, 0});
  check_attention({2, 1, 300, 400, 6, 3, 64, 0});
}

// A decode call captured into a CUDA graph (no allocation or
// synchronization inside causal_attention), each sequence's position in
// device memory and past bounding them, as DeviceModel captures a decode
// step: replayed at several positions, equal or different per sequence (a
// ragged batch), each sequence's rows are the bits of a direct call at its
// position.
TEST(RuntimeKernels, DecodeAttentionReplaysInACudaGraph) {
  GPTQ_REQUIRE_DEVICE();
  const std::int64_t batch = 2, heads = 32, kv_heads = 8, hd = 128, capacity = 3000;
  const auto q = values(static_cast<std::size_t>(batch * heads * hd), 21, 3.0f);
  const auto kv = values(static_cast<std::size_t>(batch * kv_heads * capacity * hd), 22, 1.0f);
  const DeviceBuffer dq = to_device_half(q), dk = to_device_half(kv), dv = to_device_half(kv);
  const DeviceBuffer out(q.size() * sizeof(__half), "test");
  AttentionArgs a;
  a.q = dq.as<const __half>();
  a.k_cache = dk.as<__half>();
  a.v_cache = dv.as<__half>();
  a.out = out.as<__half>();
  a.batch = batch;
  a.seq = 1;
  a.past = capacity - 1;
  a.capacity = capacity;
  a.heads = heads;
  a.kv_heads = kv_heads;
  a.head_dim = hd;
  const std::size_t ws_bytes = attention_workspace_bytes(a);  // the bound asks for the most
  ASSERT_GT(ws_bytes, 0u) << "this shape was meant to split its keys";
  const DeviceBuffer ws(ws_bytes, "test");
  a.workspace = ws.get();
  const std::vector<std::int64_t> zeros(static_cast<std::size_t>(batch), 0);
  const DeviceBuffer past_at = upload(zeros.data(), zeros.size(), "test");
  AttentionArgs captured = a;
  captured.past_at = past_at.as<const std::int64_t>();
  cudaStream_t stream = nullptr;
  GPTQ_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  GPTQ_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  causal_attention(captured, stream);
  GPTQ_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  GPTQ_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  const std::size_t per_sequence = static_cast<std::size_t>(heads * hd);
  const std::vector<std::vector<std::int64_t>> steps = {{0, 0}, {5, 5}, {700, 700}, {2999, 2999}, {5, 700}, {2999, 0}};
  for (const std::vector<std::int64_t> &pos : steps) {
    std::vector<float> want(q.size());
    for (std::int64_t b = 0; b < batch; ++b) {
      AttentionArgs direct = a;
      direct.past = pos[static_cast<std::size_t>(b)];
      causal_attention(direct, nullptr);
      GPTQ_CUDA_CHECK(cudaDeviceSynchronize());
      const auto all = from_device_half(out, q.size());
      std::copy_n(all.begin() + static_cast<std::ptrdiff_t>(b * per_sequence), per_sequence,
                  want.begin() + static_cast<std::ptrdiff_t>(b * per_sequence));
    }
    GPTQ_CUDA_CHECK(cudaMemset(out.get(), 0, q.size() * sizeof(__half)));
    GPTQ_CUDA_CHECK(cudaMemcpy(past_at.get(), pos.data(), pos.size() * sizeof(std::int64_t), cudaMemcpyHostToDevice));
    GPTQ_CUDA_CHECK(cudaDeviceSynchronize());  // the graph's stream does not wait for the legacy one
    GPTQ_CUDA_CHECK(cudaGraphLaunch(exec, stream));
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
    EXPECT_EQ(std::memcmp(want.data(), from_device_half(out, q.size()).data(), want.size() * sizeof(float)), 0)
        << "the graph replayed at positions " << pos[0] << ", " << pos[1] << " differs from the direct calls";
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

struct NewRowsCase {
  std::int64_t heads, head_dim, capacity, window;
  std::vector<std::int64_t> pasts;  // each sequence's position
  bool rope;
};

// The decode kernel given the step's new rows before RoPE (AttentionArgs::
// new_k) against rope_and_store_kv and then the call on the cache: the same
// output bits and the same cache, q left as it was. The cases cover the
// blocks that load their first chunk before the wait and those that do not
// (more than one wave), splits that end before the new row, a window, and
// learned positions (no rotation).
void check_new_rows(const NewRowsCase &c) {
  const std::int64_t batch = static_cast<std::int64_t>(c.pasts.size()), hd = c.head_dim, w = c.heads * hd;
  SCOPED_TRACE("batch " + std::to_string(batch) + " heads " + std::to_string(c.heads) + " head_dim " +
               std::to_string(hd) + " window " + std::to_string(c.window) + (c.rope ? " rope" : " no rope"));
  const auto q = values(static_cast<std::size_t>(batch * w), 31, 3.0f);
  const auto nk = values(static_cast<std::size_t>(batch * w), 32, 1.0f);
  const auto nv = values(static_cast<std::size_t>(batch * w), 33, 1.0f);
  const std::int64_t cache_n = batch * w * c.capacity;
  auto k = values(static_cast<std::size_t>(cache_n), 34, 1.0f), v = values(static_cast<std::size_t>(cache_n), 35, 1.0f);
  for (std::int64_t i = 0; i < cache_n; ++i)  // NaN from each sequence's new row on
    if ((i / hd) % c.capacity >= c.pasts[static_cast<std::size_t>(i / (c.heads * c.capacity * hd))])
      k[static_cast<std::size_t>(i)] = v[static_cast<std::size_t>(i)] = std::nanf("");
  std::vector<float> inv_freq(static_cast<std::size_t>(hd / 2));
  for (std::size_t i = 0; i < inv_freq.size(); ++i)
    inv_freq[i] = static_cast<float>(1.0 / std::pow(10000.0, 2.0 * static_cast<double>(i) / static_cast<double>(hd)));
  const DeviceBuffer df = upload(inv_freq.data(), inv_freq.size(), "test");
  const DeviceBuffer past_at = upload(c.pasts.data(), c.pasts.size(), "test");
  const DeviceBuffer dnk = to_device_half(nk), dnv = to_device_half(nv);
  AttentionArgs a;
  a.batch = batch;
  a.seq = 1;
  a.past = *std::max_element(c.pasts.begin(), c.pasts.end());
  a.past_at = past_at.as<const std::int64_t>();
  a.capacity = c.capacity;
  a.heads = a.kv_heads = c.heads;
  a.head_dim = hd;
  a.window = c.window;
  ASSERT_TRUE(attention_takes_new_rows(a));
  const std::size_t ws_bytes = attention_workspace_bytes(a);
  const DeviceBuffer ws(ws_bytes, "test");
  a.workspace = ws_bytes ? ws.get() : nullptr;
  const float *freq = c.rope ? df.as<const float>() : nullptr;
  // Each way on its own copies of q and the cache.
  struct Run {
    std::vector<float> out, q, k, v;
  };
  auto run = [&](bool inside) {
    const DeviceBuffer dq = to_device_half(q), dk = to_device_half(k), dv = to_device_half(v);
    const DeviceBuffer out(q.size() * sizeof(__half), "test");
    AttentionArgs b = a;
    b.q = dq.as<const __half>();
    b.k_cache = dk.as<__half>();
    b.v_cache = dv.as<__half>();
    b.out = out.as<__half>();
    if (inside) {
      b.new_k = dnk.as<const __half>();
      b.new_v = dnv.as<const __half>();
      b.inv_freq = freq;
    } else {
      rope_and_store_kv(dq.as<__half>(), dnk.as<const __half>(), dnv.as<const __half>(), freq, batch, 1,
                        a.past_at, c.heads, c.heads, hd, dk.as<__half>(), dv.as<__half>(), c.capacity, nullptr);
    }
    causal_attention(b, nullptr);
    GPTQ_CUDA_CHECK(cudaDeviceSynchronize());
    return Run{from_device_half(out, q.size()), from_device_half(dq, q.size()),
               from_device_half(dk, k.size()), from_device_half(dv, v.size())};
  };
  const Run apart = run(false), inside = run(true);
  const auto same = [](const std::vector<float> &x, const std::vector<float> &y) {
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
  };
  EXPECT_TRUE(same(apart.out, inside.out)) << "the outputs differ";
  EXPECT_TRUE(same(apart.k, inside.k)) << "the key caches differ";
  EXPECT_TRUE(same(apart.v, inside.v)) << "the value caches differ";
  EXPECT_TRUE(same(inside.q, q)) << "q was changed";
  std::int64_t non_finite = 0;
  for (const float x : inside.out) non_finite += !std::isfinite(x);
  EXPECT_EQ(non_finite, 0) << "outputs not finite (a row past the new one was read)";
}

TEST(RuntimeKernels, DecodeAttentionTakesTheNewRowsBeforeRope) {
  GPTQ_REQUIRE_DEVICE();
  check_new_rows({32, 128, 200, 0, {127}, true});                // one split, one wave
  check_new_rows({32, 128, 2048, 0, {2047, 5, 1000, 64}, true}); // splits, some empty, past one wave
  check_new_rows({8, 128, 1000, 0, {900, 37}, true});
  check_new_rows({4, 128, 1600, 100, {1500, 1499}, true});       // a window
  check_new_rows({16, 64, 100, 0, {20, 0, 99}, false});          // learned positions, the first row
}

// The shape of a decode call of batch 1 (one new row at `past`), head_dim
// 128, no buffers: for the tests that run no kernel.
AttentionArgs decode_shape(std::int64_t past, std::int64_t capacity, std::int64_t heads, std::int64_t kv_heads) {
  AttentionArgs a;
  a.batch = 1;
  a.seq = 1;
  a.past = past;
  a.capacity = capacity;
  a.heads = heads;
  a.kv_heads = kv_heads;
  a.head_dim = 128;
  return a;
}

// causal_attention refusing `a` before it launches anything (no GPU needed):
// InvalidArgument whose message holds `says`; `what` names the case.
void expect_refused(const AttentionArgs &a, const std::string &says, const std::string &what) {
  try {
    causal_attention(a, nullptr);
    ADD_FAILURE() << what << ": accepted";
  } catch (const InvalidArgument &e) {
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << what << ": " << e.what();
  }
}

// Without a GPU: the new rows are refused where the decode kernel does not
// run (grouped KV heads here), and one of the pair alone anywhere.
TEST(RuntimeKernels, NewRowsAreTakenOnlyByTheDecodeKernel) {
  AttentionArgs a = decode_shape(10, 16, 32, 8);
  EXPECT_FALSE(attention_takes_new_rows(a));
  const __half *row = reinterpret_cast<const __half *>(&a);  // never read: refused first
  a.new_k = a.new_v = row;
  expect_refused(a, "new rows before RoPE", "grouped KV heads");
  a.kv_heads = 32;
  EXPECT_TRUE(attention_takes_new_rows(a));
  a.new_v = nullptr;
  expect_refused(a, "new rows before RoPE", "new_k without new_v");
}

// Without a GPU: a decode shape needs workspace (its keys are split) and a
// long prefill none; asking for the split without workspace is refused
// before anything is launched.
TEST(RuntimeKernels, AttentionWorkspaceFollowsTheShape) {
  AttentionArgs a = decode_shape(2047, 2048, 32, 32);
  const std::size_t decode = attention_workspace_bytes(a);
  EXPECT_GT(decode, 0u);
  a.seq = 2048;
  a.past = 0;
  EXPECT_EQ(attention_workspace_bytes(a), 0u);
  a.head_dim = 80;  // the generic kernel splits nothing
  a.seq = 1;
  a.past = 2047;
  EXPECT_EQ(attention_workspace_bytes(a), 0u);
  a.head_dim = 128;
  expect_refused(a, std::to_string(decode) + " bytes of workspace", "a split without workspace");
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
  check_norm(NormKind::Rms, 2, 20000, false);  // wider than the kernel keeps in registers
  check_norm(NormKind::Layer, 1, 20000, true);
}

// The fused residual add + norm against the two kernels it replaces: the
// same bits in the residual stream and in the normed fp16 rows, in the
// register-cached path (up to 16 elements per thread, 16384 exactly at the
// edge) and the re-reading one (20000).
void check_add_norm(NormKind kind, std::int64_t rows, std::int64_t width) {
  const auto n = static_cast<std::size_t>(rows * width);
  const auto x = values(n, 21, 3.0f, false), y = values(n, 22, 1.0f);
  const auto w = values(static_cast<std::size_t>(width), 23, 1.0f, false);
  const auto b = values(static_cast<std::size_t>(width), 24, 0.5f, false);
  const DeviceBuffer dw = upload(w.data(), w.size(), "test"), db = upload(b.data(), b.size(), "test");
  const float *bias = kind == NormKind::Layer ? db.as<const float>() : nullptr;
  const DeviceBuffer dy = to_device_half(y);
  const DeviceBuffer h1 = upload(x.data(), n, "test"), h2 = upload(x.data(), n, "test");
  const DeviceBuffer o1(n * sizeof(__half), "test"), o2(n * sizeof(__half), "test");
  add_residual(h1.as<float>(), dy.as<const __half>(), static_cast<std::int64_t>(n), nullptr);
  norm_rows(kind, h1.as<const float>(), dw.as<const float>(), bias, 1e-5, rows, width, o1.as<__half>(), nullptr);
  add_residual_norm(kind, h2.as<float>(), dy.as<const __half>(), dw.as<const float>(), bias, 1e-5, rows, width,
                    o2.as<__half>(), nullptr);
  std::vector<float> g1(n), g2(n);
  std::vector<__half> p1(n), p2(n);
  GPTQ_CUDA_CHECK(cudaMemcpy(g1.data(), h1.get(), n * sizeof(float), cudaMemcpyDeviceToHost));
  GPTQ_CUDA_CHECK(cudaMemcpy(g2.data(), h2.get(), n * sizeof(float), cudaMemcpyDeviceToHost));
  GPTQ_CUDA_CHECK(cudaMemcpy(p1.data(), o1.get(), n * sizeof(__half), cudaMemcpyDeviceToHost));
  GPTQ_CUDA_CHECK(cudaMemcpy(p2.data(), o2.get(), n * sizeof(__half), cudaMemcpyDeviceToHost));
  EXPECT_EQ(std::memcmp(g1.data(), g2.data(), n * sizeof(float)), 0) << "residual stream, width " << width;
  EXPECT_EQ(std::memcmp(p1.data(), p2.data(), n * sizeof(__half)), 0) << "normed rows, width " << width;
  // The sum really happened (y is not all zero).
  EXPECT_NE(std::memcmp(g2.data(), x.data(), n * sizeof(float)), 0);
}

TEST(RuntimeKernels, AddResidualNormEqualsAddThenNorm) {
  GPTQ_REQUIRE_DEVICE();
  check_add_norm(NormKind::Rms, 3, 4096);
  check_add_norm(NormKind::Layer, 2, 1001);
  check_add_norm(NormKind::Rms, 1, 16384);
  check_add_norm(NormKind::Layer, 2, 20000);
}

TEST(RuntimeKernels, RopeRotatesQAndStoresKeysAndValues) {
  GPTQ_REQUIRE_DEVICE();
  // Each sequence at its own position (a ragged batch).
  const std::int64_t batch = 2, seq = 3, heads = 4, kv_heads = 2, hd = 16, capacity = 10;
  const std::vector<std::int64_t> pasts = {5, 2};
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
  const DeviceBuffer dpast = upload(pasts.data(), pasts.size(), "test");
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
    const std::int64_t b = r / seq, pos = pasts[static_cast<std::size_t>(b)] + r % seq;
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
        if (p < pasts[static_cast<std::size_t>(b)] || p >= pasts[static_cast<std::size_t>(b)] + seq) {
          EXPECT_EQ(gk[((b * kv_heads + h) * capacity + p) * hd], 0.0f);
        }
}

// copy_to_device through a state's pinned staging (cuda/host_staging.h):
// chunks of 4 KiB here, so a copy of 3 chunks and a part crosses both chunks
// twice; the bytes arrive whole, ordered before the stream's next work, and
// the totals count them. Then a staging whose pinned memory is refused (the
// test hook fails its first checked call, the cudaHostAlloc) copies from
// pageable memory instead, says so once, and fails nothing.
TEST(RuntimeKernels, HostStagingCopiesThroughPinnedChunksAndFallsBack) {
  GPTQ_REQUIRE_DEVICE();
  cudaStream_t stream = nullptr;
  GPTQ_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const std::size_t bytes = 3 * 4096 + 123;
  std::vector<unsigned char> src(bytes), back(bytes);
  for (std::size_t i = 0; i < bytes; ++i) src[i] = static_cast<unsigned char>(i * 131 + 7);
  {
    std::vector<std::string> said;
    MemoryAccount account;
    const AccountScope charged(&account);
    HostStaging staging([&](const std::string &l) { said.push_back(l); }, 4096);
    const StagingScope scope(&staging);
    DeviceBuffer dst(bytes, "the staging test's bytes");
    copy_to_device(dst.get(), src.data(), bytes, stream, false);
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(back.data(), dst.get(), bytes, cudaMemcpyDeviceToHost, stream));
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
    EXPECT_EQ(back, src);
    const HostStaging::Totals t = staging.totals();
    EXPECT_TRUE(t.pinned);
    EXPECT_EQ(t.staged_bytes, bytes);
    EXPECT_EQ(t.pageable_bytes, 0u);
    EXPECT_EQ(account.use(false).pinned, 2u * 4096u) << "the two chunks are charged as pinned host memory";
    EXPECT_EQ(account.use(false).live, bytes) << "pinned memory is not device memory";
    EXPECT_TRUE(said.empty());
  }
  {
    std::vector<std::string> said;
    MemoryAccount account;
    const AccountScope charged(&account);
    HostStaging staging([&](const std::string &l) { said.push_back(l); }, 4096);
    const StagingScope scope(&staging);
    DeviceBuffer dst(bytes, "the staging test's bytes");
    account.fail_check(1);
    std::fill(back.begin(), back.end(), 0);
    copy_to_device(dst.get(), src.data(), bytes, stream, true);
    copy_to_device(dst.get(), src.data(), bytes, stream, true);
    GPTQ_CUDA_CHECK(cudaMemcpy(back.data(), dst.get(), bytes, cudaMemcpyDeviceToHost));
    EXPECT_EQ(back, src);
    const HostStaging::Totals t = staging.totals();
    EXPECT_FALSE(t.pinned);
    EXPECT_EQ(t.pageable_bytes, 2 * bytes);
    EXPECT_EQ(account.use(false).pinned, 0u);
    ASSERT_EQ(said.size(), 1u) << "the fallback is said once";
    std::printf("fallback said: %s\n", said[0].c_str());
    EXPECT_NE(said[0].find("from pageable memory"), std::string::npos) << said[0];
  }
  GPTQ_CUDA_CHECK(cudaStreamDestroy(stream));
}

// Host memory pinned in place (HostStaging::pin, plugin table v8's
// host_pin): a copy from inside the range goes straight to the device (no
// chunk made, nothing staged), one that reaches past it is staged; the
// range is charged as pinned host memory until unpinned, a refused pin
// leaves no error behind, and a staging destroyed with a range still pinned
// unpins it.
TEST(RuntimeKernels, HostStagingCopiesPinnedRangesStraight) {
  GPTQ_REQUIRE_DEVICE();
  cudaStream_t stream = nullptr;
  GPTQ_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const std::size_t bytes = 5 * 4096 + 77;
  std::vector<unsigned char> src(bytes + 64), back(bytes);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<unsigned char>(i * 29 + 3);
  MemoryAccount account;
  const AccountScope charged(&account);
  {
    HostStaging staging({}, 4096);
    const StagingScope scope(&staging);
    DeviceBuffer dst(bytes, "the pinned test's bytes");
    staging.pin(src.data(), bytes);
    EXPECT_EQ(account.use(false).pinned, bytes);
    // Refused (already registered): an error, charged nothing, and not left
    // behind for the next launch check to report as its own.
    EXPECT_THROW(staging.pin(src.data(), bytes), CudaError);
    EXPECT_EQ(account.use(false).pinned, bytes);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    copy_to_device(dst.get(), src.data(), bytes, stream, false);
    GPTQ_CUDA_CHECK(cudaMemcpyAsync(back.data(), dst.get(), bytes, cudaMemcpyDeviceToHost, stream));
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
    EXPECT_TRUE(std::equal(back.begin(), back.end(), src.begin()));
    HostStaging::Totals t = staging.totals();
    EXPECT_EQ(t.direct_bytes, bytes);
    EXPECT_EQ(t.staged_bytes, 0u);
    EXPECT_FALSE(t.pinned) << "no chunk was needed";
    // Past the range's end: staged.
    copy_to_device(dst.get(), src.data() + 64, bytes, stream, true);
    t = staging.totals();
    EXPECT_EQ(t.direct_bytes, bytes);
    EXPECT_EQ(t.staged_bytes, bytes);
    GPTQ_CUDA_CHECK(cudaMemcpy(back.data(), dst.get(), bytes, cudaMemcpyDeviceToHost));
    EXPECT_TRUE(std::equal(back.begin(), back.end(), src.begin() + 64));
    staging.unpin(src.data());
    EXPECT_EQ(account.use(false).pinned, 2u * 4096u) << "only the chunks are left";
    staging.unpin(src.data());  // a second unpin: ignored
    staging.pin(src.data(), bytes);
  }
  EXPECT_EQ(account.use(false).pinned, 0u) << "the staging unpinned what was left";
  // The driver no longer knows the memory as page-locked.
  unsigned int flags = 0;
  EXPECT_EQ(cudaHostGetFlags(&flags, src.data()), cudaErrorInvalidValue);
  (void)cudaGetLastError();
  GPTQ_CUDA_CHECK(cudaStreamDestroy(stream));
}

// A captured decode step's page-locked inputs (cuda/pinned_host_buffer.h):
// charged to the account of the entry that made it as pinned host memory,
// credited back to it when freed (also after a move, exactly once), copied
// from and to by the DMA engines; a refusal (the allocation hook) is a
// CudaError naming what it was for, charging nothing and leaving no error.
TEST(RuntimeKernels, PinnedHostBufferIsChargedAndCopiedFrom) {
  GPTQ_REQUIRE_DEVICE();
  MemoryAccount account;
  const AccountScope charged(&account);
  {
    PinnedHostBuffer buffer(1000, "the pinned test's bytes");
    ASSERT_NE(buffer.get(), nullptr);
    EXPECT_EQ(account.use(false).pinned, 1000u);
    unsigned int flags = 0;
    EXPECT_EQ(cudaHostGetFlags(&flags, buffer.get()), cudaSuccess) << "page-locked";
    auto *bytes = static_cast<unsigned char *>(buffer.get());
    for (int i = 0; i < 1000; ++i) bytes[i] = static_cast<unsigned char>(i * 7 + 1);
    DeviceBuffer dst(1000, "the pinned test's device bytes");
    GPTQ_CUDA_CHECK(cudaMemcpy(dst.get(), buffer.get(), 1000, cudaMemcpyHostToDevice));
    std::vector<unsigned char> back(1000);
    GPTQ_CUDA_CHECK(cudaMemcpy(back.data(), dst.get(), 1000, cudaMemcpyDeviceToHost));
    EXPECT_TRUE(std::equal(back.begin(), back.end(), bytes));
    PinnedHostBuffer moved = std::move(buffer);
    EXPECT_EQ(buffer.get(), nullptr);
    EXPECT_EQ(account.use(false).pinned, 1000u);
  }
  EXPECT_EQ(account.use(false).pinned, 0u);
  account.fail_allocation(1);
  try {
    PinnedHostBuffer refused(64, "the refused test buffer");
    ADD_FAILURE() << "the armed allocation did not fail";
  } catch (const CudaError &e) {
    EXPECT_NE(std::string(e.what()).find("the refused test buffer"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), cudaErrorMemoryAllocation);
  }
  EXPECT_EQ(account.use(false).pinned, 0u);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

}  // namespace
}  // namespace gptq::cuda
