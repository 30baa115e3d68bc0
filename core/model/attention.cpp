#include "core/model/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu/parallel_blas.h"
#include "core/cpu/row_chunks.h"

namespace gptq::model {
namespace {

// Query rows per task: a 2048-key window's scores for them are 1 MiB, and a
// block sees only the keys up to its last row, which skips most of the
// masked half of a prefill's products.
constexpr std::int64_t kQueryBlock = 128;

// Row-wise softmax of scores[rows][width], whose columns are the keys at
// positions key0 .. key0 + width - 1 and whose row i is the query at position
// pos0 + i, over the keys that query may see; the others become 0 so the
// product with v ignores them.
void masked_softmax(float *scores, std::int64_t rows, std::int64_t width, std::int64_t pos0, std::int64_t key0,
                    const std::optional<std::int64_t> &window) {
  for (std::int64_t i = 0; i < rows; ++i) {
    float *row = scores + i * width;
    const std::int64_t pos = pos0 + i;
    const std::int64_t lo = (window ? std::max<std::int64_t>(0, pos - *window + 1) : 0) - key0;
    const std::int64_t hi = std::min(width, pos + 1 - key0);  // exclusive
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
    for (std::int64_t j = hi; j < width; ++j) row[j] = 0.0f;
  }
}

}  // namespace

void causal_attention(const Compute &compute, const AttentionShape &s, std::span<const AttentionSequence> sequences,
                      std::int64_t seq) {
  const std::int64_t q_width = s.heads * s.head_dim;
  const std::int64_t kv_width = s.kv_heads * s.head_dim;
  const std::int64_t group = s.heads / s.kv_heads;
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.head_dim)));
  const std::int64_t blocks = (seq + kQueryBlock - 1) / kQueryBlock;
  const auto tasks = static_cast<std::int64_t>(sequences.size()) * s.heads * blocks;
  // Task t: query rows [i0, i0 + rows) of head h of one sequence, against the
  // keys [key0, key_end) they can see.
  auto run = [&](std::int64_t t0, std::int64_t t1) {
    std::vector<float> scores;
    for (std::int64_t t = t0; t < t1; ++t) {
      const AttentionSequence &a = sequences[static_cast<std::size_t>(t / (s.heads * blocks))];
      const std::int64_t h = t / blocks % s.heads, g = h / group;
      const std::int64_t i0 = t % blocks * kQueryBlock, rows = std::min(kQueryBlock, seq - i0);
      const std::int64_t pos0 = a.kv_len - seq + i0;  // position of query row i0
      const std::int64_t key0 = s.sliding_window ? std::max<std::int64_t>(0, pos0 - *s.sliding_window + 1) : 0;
      const std::int64_t width = pos0 + rows - key0;
      scores.resize(static_cast<std::size_t>(rows * width));
      serial_gemm(Trans::No, Trans::Yes, rows, width, s.head_dim, scale, a.q + i0 * q_width + h * s.head_dim,
                  q_width, a.k + key0 * kv_width + g * s.head_dim, kv_width, 0.0f, scores.data(), width);
      masked_softmax(scores.data(), rows, width, pos0, key0, s.sliding_window);
      serial_gemm(Trans::No, Trans::No, rows, s.head_dim, width, 1.0f, scores.data(), width,
                  a.v + key0 * kv_width + g * s.head_dim, kv_width, 0.0f, a.out + i0 * q_width + h * s.head_dim,
                  q_width);
    }
  };
  // A decode step's heads (one query row each) are too small to be worth a
  // thread each: below kMinTaskWork multiply-adds per head they stay on the
  // calling thread.
  constexpr std::int64_t kMinTaskWork = 1 << 18;
  const std::int64_t kv_max =
      sequences.empty() ? 0
                        : std::max_element(sequences.begin(), sequences.end(), [](const auto &a, const auto &b) {
                            return a.kv_len < b.kv_len;
                          })->kv_len;
  if (seq * kv_max * s.head_dim < kMinTaskWork) {
    run(0, tasks);
    return;
  }
  for_row_chunks(compute, tasks, 1, run);
}

void causal_attention(const Compute &compute, const AttentionShape &s, const float *q, std::int64_t seq,
                      const float *k, const float *v, std::int64_t kv_len, float *out) {
  const AttentionSequence one{q, k, v, kv_len, out};
  causal_attention(compute, s, std::span(&one, 1), seq);
}

}  // namespace gptq::model
