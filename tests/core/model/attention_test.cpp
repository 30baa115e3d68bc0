// causal_attention against a direct softmax(q k^T / sqrt(d)) v on small
// shapes: causality, GQA head mapping, sliding window, cached prefix; a
// batch of sequences on the CPU threads.
#include "core/model/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <span>
#include <vector>
#include "tests/support/test_compute.h"

namespace gptq::model {
namespace {

std::vector<float> random_vector(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float &x : v) x = d(rng);
  return v;
}

// The textbook computation, one query at a time.
std::vector<float> reference(const AttentionShape &s, const std::vector<float> &q, std::int64_t seq,
                             const std::vector<float> &k, const std::vector<float> &v, std::int64_t kv_len) {
  const std::int64_t D = s.head_dim, qw = s.heads * D, kw = s.kv_heads * D;
  std::vector<float> out(static_cast<std::size_t>(seq * qw), 0.0f);
  for (std::int64_t i = 0; i < seq; ++i) {
    const std::int64_t pos = kv_len - seq + i;
    for (std::int64_t h = 0; h < s.heads; ++h) {
      const std::int64_t g = h / (s.heads / s.kv_heads);
      std::vector<double> w(static_cast<std::size_t>(kv_len), 0.0);
      double max = -1e300, sum = 0;
      for (std::int64_t j = 0; j <= pos; ++j) {
        if (s.sliding_window && j <= pos - *s.sliding_window) continue;
        double dot = 0;
        for (std::int64_t d = 0; d < D; ++d) dot += double(q[i * qw + h * D + d]) * k[j * kw + g * D + d];
        w[j] = dot / std::sqrt(double(D));
        max = std::max(max, w[j]);
      }
      for (std::int64_t j = 0; j <= pos; ++j) {
        if (s.sliding_window && j <= pos - *s.sliding_window) continue;
        w[j] = std::exp(w[j] - max);
        sum += w[j];
      }
      for (std::int64_t j = 0; j <= pos; ++j)
        for (std::int64_t d = 0; d < D; ++d)
          out[i * qw + h * D + d] += static_cast<float>(w[j] / sum * v[j * kw + g * D + d]);
    }
  }
  return out;
}

void expect_near(const std::vector<float> &a, const std::vector<float> &b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5) << "at " << i;
}

TEST(Attention, MatchesTheDirectComputation) {
  for (std::optional<std::int64_t> window : {std::optional<std::int64_t>{}, std::optional<std::int64_t>{3}}) {
    const AttentionShape s{6, 2, 8, window};
    const std::int64_t seq = 7, kv_len = 11;  // 4 cached positions before the 7 new ones
    const auto q = random_vector(seq * 6 * 8, 1);
    const auto k = random_vector(kv_len * 2 * 8, 2);
    const auto v = random_vector(kv_len * 2 * 8, 3);
    std::vector<float> out(q.size());
    causal_attention(test_compute(), s, q.data(), seq, k.data(), v.data(), kv_len, out.data());
    expect_near(out, reference(s, q, seq, k, v, kv_len));
  }
}

TEST(Attention, WindowOfOneReturnsOwnValue) {
  const AttentionShape s{2, 1, 4, 1};
  const auto q = random_vector(5 * 8, 4), k = random_vector(5 * 4, 5), v = random_vector(5 * 4, 6);
  std::vector<float> out(q.size());
  causal_attention(test_compute(), s, q.data(), 5, k.data(), v.data(), 5, out.data());
  for (int i = 0; i < 5; ++i)
    for (int h = 0; h < 2; ++h)
      for (int d = 0; d < 4; ++d) EXPECT_FLOAT_EQ(out[i * 8 + h * 4 + d], v[i * 4 + d]);
}

// Several sequences large enough to run their (sequence, head) pairs on the
// CPU threads (2 cores in CI) give each sequence's own result, bit for bit:
// each pair runs the same single-threaded products as a sequence alone.
TEST(Attention, SequencesOnThreadsMatchOneAtATime) {
  const AttentionShape s{4, 2, 64, std::nullopt};
  const std::int64_t seq = 80, kv_len = 96, n = 3;  // 80 x 96 x 64 multiply-adds a head: on threads
  const std::int64_t qw = s.heads * s.head_dim, kw = s.kv_heads * s.head_dim;
  std::vector<std::vector<float>> q, k, v, alone;
  std::vector<std::vector<float>> out(static_cast<std::size_t>(n), std::vector<float>(static_cast<std::size_t>(seq * qw)));
  std::vector<AttentionSequence> batch;
  for (std::int64_t b = 0; b < n; ++b) {
    q.push_back(random_vector(static_cast<std::size_t>(seq * qw), static_cast<std::uint32_t>(10 + b)));
    k.push_back(random_vector(static_cast<std::size_t>(kv_len * kw), static_cast<std::uint32_t>(20 + b)));
    v.push_back(random_vector(static_cast<std::size_t>(kv_len * kw), static_cast<std::uint32_t>(30 + b)));
  }
  for (std::int64_t b = 0; b < n; ++b) {
    const auto i = static_cast<std::size_t>(b);
    batch.push_back({q[i].data(), k[i].data(), v[i].data(), kv_len, out[i].data()});
    causal_attention(test_compute(), s, std::span(&batch.back(), 1), seq);  // this sequence alone
    alone.push_back(out[i]);
    std::fill(out[i].begin(), out[i].end(), 0.0f);
  }
  causal_attention(test_compute(), s, batch, seq);
  for (std::int64_t b = 0; b < n; ++b) {
    const auto i = static_cast<std::size_t>(b);
    EXPECT_EQ(out[i], alone[i]) << "sequence " << b;
    expect_near(out[i], reference(s, q[i], seq, k[i], v[i], kv_len));
  }
}

}  // namespace
}  // namespace gptq::model
