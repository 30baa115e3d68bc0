#include "core/model/attention.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu/cpu_backend.h"
#include "core/cpu/row_chunks.h"

namespace gptq::model {
namespace {

// Row-wise softmax of scores[seq][kv_len] over the keys each query may see;
// the others become 0 so the product with v ignores them.
void masked_softmax(float *scores, std::int64_t seq, std::int64_t kv_len, std::int64_t past,
                    const std::optional<std::int64_t> &window) {
  for (std::int64_t i = 0; i < seq; ++i) {
    float *row = scores + i * kv_len;
    const std::int64_t pos = past + i;
    const std::int64_t lo = window ? std::max<std::int64_t>(0, pos - *window + 1) : 0;
    const std::int64_t hi = pos + 1;  // exclusive
    float max = row[lo];
    for (std::int64_t j = lo + 1; j < hi; ++j) max = std::max(max, row[j]);
    float sum = 0.0f;
    for (std::int64_t j = lo; j < hi; ++j) {
      row[j] = std::exp(row[j] - max);
      sum += row[j];
    }
    const float inv = 1.0f / sum;
    for (std::int64_t j = 0; j < lo; ++j) row[j] = 0.0f;
    for (std::int64_t j = lo; j < hi; ++j) row[j] *= inv;
    for (std::int64_t j = hi; j < kv_len; ++j) row[j] = 0.0f;
  }
}

}  // namespace

void causal_attention(const AttentionShape &s, std::span<const AttentionSequence> sequences, std::int64_t seq) {
  const std::int64_t q_width = s.heads * s.head_dim;
  const std::int64_t kv_width = s.kv_heads * s.head_dim;
  const std::int64_t group = s.heads / s.kv_heads;
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.head_dim)));
  const auto tasks = static_cast<std::int64_t>(sequences.size()) * s.heads;
  auto run = [&](std::int64_t t0, std::int64_t t1) {
    std::vector<float> scores;
    for (std::int64_t t = t0; t < t1; ++t) {
      const AttentionSequence &a = sequences[static_cast<std::size_t>(t / s.heads)];
      const std::int64_t h = t % s.heads, g = h / group;
      scores.resize(static_cast<std::size_t>(seq * a.kv_len));
      const auto M = static_cast<blasint>(seq), N = static_cast<blasint>(a.kv_len),
                 D = static_cast<blasint>(s.head_dim);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, D, scale, a.q + h * s.head_dim,
                  static_cast<blasint>(q_width), a.k + g * s.head_dim, static_cast<blasint>(kv_width), 0.0f,
                  scores.data(), N);
      masked_softmax(scores.data(), seq, a.kv_len, a.kv_len - seq, s.sliding_window);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, D, N, 1.0f, scores.data(), N,
                  a.v + g * s.head_dim, static_cast<blasint>(kv_width), 0.0f, a.out + h * s.head_dim,
                  static_cast<blasint>(q_width));
    }
  };
  // A decode step's heads (one query row each) are too small to be worth a
  // thread each: below kMinTaskWork multiply-adds per head they stay on the
  // calling thread, with OpenBLAS as configured.
  constexpr std::int64_t kMinTaskWork = 1 << 18;
  const std::int64_t kv_max =
      sequences.empty() ? 0
                        : std::max_element(sequences.begin(), sequences.end(), [](const auto &a, const auto &b) {
                            return a.kv_len < b.kv_len;
                          })->kv_len;
  const bool worth_threads = seq * kv_max * s.head_dim >= kMinTaskWork;
  const int threads = worth_threads ? static_cast<int>(std::min<std::int64_t>(cpu_threads(), tasks)) : 1;
  if (threads <= 1) {
    run(0, tasks);
    return;
  }
  const SingleThreadedBlas one_thread_each;
  for_row_chunks(tasks, std::max<std::int64_t>(1, tasks / (4 * threads)), threads, run);
}

void causal_attention(const AttentionShape &s, const float *q, std::int64_t seq, const float *k,
                      const float *v, std::int64_t kv_len, float *out) {
  const AttentionSequence one{q, k, v, kv_len, out};
  causal_attention(s, std::span(&one, 1), seq);
}

}  // namespace gptq::model
