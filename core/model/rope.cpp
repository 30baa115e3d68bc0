#include "core/model/rope.h"

#include <cmath>
#include <numbers>

#include "core/cpu/row_chunks.h"
#include "core/base/error.h"

namespace gptq::model {
namespace {

std::vector<float> base_inv_freq(double theta, std::int64_t d) {
  std::vector<float> f(static_cast<std::size_t>(d / 2));
  for (std::int64_t i = 0; i < d / 2; ++i) {
    // transformers: 1.0 / (base ** (arange(0, d, 2).float() / d)) in fp32.
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(d);
    f[static_cast<std::size_t>(i)] = static_cast<float>(1.0 / std::pow(theta, static_cast<double>(exponent)));
  }
  return f;
}

// Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, and
// those in between blended.
void llama3_scale(std::vector<float> &f, const RopeConfig &r) {
  const double old_len = static_cast<double>(r.original_max_position_embeddings);
  const double low_wavelen = old_len / r.low_freq_factor;
  const double high_wavelen = old_len / r.high_freq_factor;
  for (float &v : f) {
    const double wavelen = 2.0 * std::numbers::pi / v;
    if (wavelen > low_wavelen) {
      v = static_cast<float>(v / r.factor);
    } else if (wavelen >= high_wavelen) {
      const double smooth = (old_len / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      v = static_cast<float>((1.0 - smooth) * v / r.factor + smooth * v);
    }
  }
}

}  // namespace

std::vector<float> rope_inv_freq(const RopeConfig &rope, std::int64_t head_dim,
                                 std::int64_t max_position_embeddings, std::int64_t seq_len) {
  if (head_dim <= 0 || head_dim % 2 != 0)
    fail(Status::Unsupported, "RoPE needs an even head_dim, got " + std::to_string(head_dim));
  switch (rope.type) {
    case RopeType::Default: return base_inv_freq(rope.theta, head_dim);
    case RopeType::Linear: {
      std::vector<float> f = base_inv_freq(rope.theta, head_dim);
      for (float &v : f) v = static_cast<float>(v / rope.factor);
      return f;
    }
    case RopeType::Dynamic: {
      double theta = rope.theta;
      if (seq_len > max_position_embeddings && max_position_embeddings > 0) {
        const double d = static_cast<double>(head_dim);
        const double ratio = static_cast<double>(seq_len) / static_cast<double>(max_position_embeddings);
        theta *= std::pow(rope.factor * ratio - (rope.factor - 1.0), d / (d - 2.0));
      }
      return base_inv_freq(theta, head_dim);
    }
    case RopeType::Llama3: {
      std::vector<float> f = base_inv_freq(rope.theta, head_dim);
      llama3_scale(f, rope);
      return f;
    }
  }
  fail(Status::Internal, "unknown rope type");
}

void apply_rope(const Compute &compute, float *x, std::int64_t rows, std::int64_t heads, std::int64_t head_dim,
                std::span<const std::int64_t> positions, std::span<const float> inv_freq) {
  const std::int64_t half = head_dim / 2;
  parallel_rows(compute, rows, heads * head_dim, [&](std::int64_t r0, std::int64_t r1) {
    std::vector<float> cos(static_cast<std::size_t>(half)), sin(static_cast<std::size_t>(half));
    for (std::int64_t r = r0; r < r1; ++r) {
      const auto pos = static_cast<float>(positions[static_cast<std::size_t>(r)]);
      for (std::int64_t i = 0; i < half; ++i) {
        const float angle = pos * inv_freq[static_cast<std::size_t>(i)];  // fp32, as transformers
        cos[static_cast<std::size_t>(i)] = static_cast<float>(std::cos(static_cast<double>(angle)));
        sin[static_cast<std::size_t>(i)] = static_cast<float>(std::sin(static_cast<double>(angle)));
      }
      float *row = x + r * heads * head_dim;
      for (std::int64_t h = 0; h < heads; ++h) {
        float *a = row + h * head_dim;
        float *b = a + half;
        for (std::int64_t i = 0; i < half; ++i) {
          const auto k = static_cast<std::size_t>(i);
          const float x1 = a[i], x2 = b[i];
          a[i] = x1 * cos[k] - x2 * sin[k];
          b[i] = x2 * cos[k] + x1 * sin[k];
        }
      }
    }
  });
}

}  // namespace gptq::model
