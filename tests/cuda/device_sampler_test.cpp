// The device's token choice (cuda/runtime/device_sampler.h) against the host
// sampler (core/eval/sampler.h), the reference, on random rows of logits
// (batches of 1 to 16, vocabularies of 32000 and 50257): for greedy,
// temperature alone, top-k, top-p 0.9 and 0.99 (with and without top-k and
// temperature), the repetition penalty, each row with the number its own
// seeded sampler draws. The device's token must be the host's, except where
// the host's draw lies within 1e-5 of a cumulative boundary (or its nucleus
// cut within 1e-5 of 1 - top_p): the device sums in another order and with
// its own exp, so such a near-tie may go the other way; they are counted,
// and only they may differ. A nucleus too large for the device comes back to
// the host with its row of logits (checked bit for bit, and that the host
// then chooses with the same number); an inactive row gets no token; and
// each launch gives the same tokens again.
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/eval/sampler.h"
#include "cuda/cuda_check.h"
#include "cuda/device_memory.h"
#include "cuda/runtime/device_buffer.h"
#include "cuda/runtime/device_sampler.h"
#include "tests/support/cuda_device.h"

namespace gptq::cuda {
namespace {

constexpr double kNearTie = 1e-5;

struct Setting {
  const char *name;
  double temperature;
  std::int64_t top_k;
  double top_p;
  double penalty;
  bool all_on_host;  // every row's nucleus is too large for the device
};

// How close the host's choice for `row` came to another: the distance of u
// from the cumulative sums around the chosen token (in id order, over what
// top-k and top-p kept), and of the nucleus cut's ascending cumulative mass
// from 1 - top_p; infinity for greedy. In double, in the host's order (the
// plain algorithm of tests/core/eval/sampler_reference.h).
double margin(std::vector<float> row, const std::vector<std::int32_t> &seen, const Setting &s, double u) {
  if (s.temperature <= 0.0) return std::numeric_limits<double>::infinity();
  constexpr float removed = -std::numeric_limits<float>::infinity();
  for (std::int32_t id : seen) {
    float &l = row[static_cast<std::size_t>(id)];
    l = static_cast<float>(l < 0 ? l * s.penalty : l / s.penalty);
  }
  for (float &l : row) l = static_cast<float>(l / s.temperature);
  const std::size_t n = row.size();
  if (s.top_k > 0 && static_cast<std::size_t>(s.top_k) < n) {
    std::vector<float> sorted = row;
    std::nth_element(sorted.begin(), sorted.begin() + (s.top_k - 1), sorted.end(), std::greater<>());
    const float kth = sorted[static_cast<std::size_t>(s.top_k - 1)];
    for (float &l : row)
      if (l < kth) l = removed;
  }
  auto probabilities = [&] {
    const float max = *std::max_element(row.begin(), row.end());
    std::vector<double> p(n);
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += p[i] = row[i] == removed ? 0.0 : std::exp(double(row[i] - max));
    for (double &v : p) v /= sum;
    return p;
  };
  double closest = std::numeric_limits<double>::infinity();
  if (s.top_p < 1.0) {
    const std::vector<double> p = probabilities();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return p[a] != p[b] ? p[a] < p[b] : a > b; });
    double cumulative = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const double before = cumulative;
      cumulative += p[order[i]];
      if (cumulative > 1.0 - s.top_p) {  // the cut: between the sums before and after this token
        closest = std::min(cumulative - (1.0 - s.top_p), (1.0 - s.top_p) - before);
        break;
      }
      row[order[i]] = removed;
    }
  }
  const std::vector<double> p = probabilities();
  double cumulative = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] == 0.0) continue;
    const double before = cumulative;
    cumulative += p[i];
    if (u < cumulative) return std::min({closest, u - before, cumulative - u});
  }
  return std::min(closest, std::abs(cumulative - u));
}

// Rows like an LM's: normal logits at a row's own scale (3, 4 or 6: from
// flat to peaked), a few ties, a few masked ids.
std::vector<float> random_rows(std::mt19937_64 &rng, std::int64_t batch, std::int64_t vocab) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> rows(static_cast<std::size_t>(batch * vocab));
  const float scales[] = {3.0f, 4.0f, 6.0f};
  for (std::int64_t b = 0; b < batch; ++b) {
    const float scale = scales[rng() % 3];
    float *row = rows.data() + b * vocab;
    for (std::int64_t i = 0; i < vocab; ++i) row[i] = normal(rng) * scale;
    for (int t = 0; t < 8; ++t) row[rng() % static_cast<std::uint64_t>(vocab)] = row[0];  // ties with id 0
    for (int t = 0; t < 8; ++t) row[rng() % static_cast<std::uint64_t>(vocab)] = -std::numeric_limits<float>::infinity();
  }
  return rows;
}

struct Counts {
  int device = 0, on_host = 0, near_ties = 0, differ = 0;
};

// One launch of `setting` over `batch` random rows (row 1 inactive when
// batch > 2), against the host sampler row by row.
Counts check(const Setting &setting, std::int64_t batch, std::int64_t vocab, std::uint64_t seed) {
  const std::string what = std::string(setting.name) + ", batch " + std::to_string(batch) + ", vocabulary " +
                           std::to_string(vocab) + ", seed " + std::to_string(seed);
  SCOPED_TRACE(what);
  std::mt19937_64 rng(seed);
  const std::vector<float> rows = random_rows(rng, batch, vocab);
  const auto b_count = static_cast<std::size_t>(batch);
  std::vector<std::uint8_t> active(b_count, 1);
  if (batch > 2) active[1] = 0;
  // Each row's distinct seen tokens (a prompt's worth), and its number.
  std::vector<std::vector<std::int32_t>> seen(b_count);
  std::vector<std::int32_t> seen_ids;
  std::vector<std::int64_t> offsets{0};
  std::vector<double> uniforms(b_count, 0.0);
  std::vector<eval::Sampler> hosts;
  eval::SamplingOptions o;
  o.temperature = setting.temperature;
  o.top_k = setting.top_k;
  o.top_p = setting.top_p;
  o.repetition_penalty = setting.penalty;
  for (std::size_t b = 0; b < b_count; ++b) {
    std::vector<bool> marked(static_cast<std::size_t>(vocab), false);
    const float *row = rows.data() + b * static_cast<std::size_t>(vocab);
    const auto top = static_cast<std::int64_t>(std::max_element(row, row + vocab) - row);
    for (int t = 0; t < 200; ++t) {
      // The row's likeliest id and those after it first, so the penalty
      // moves the choice; then random ones.
      const std::int64_t id = t < 20 ? top + t : static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(vocab));
      if (id >= vocab || marked[static_cast<std::size_t>(id)]) continue;
      marked[static_cast<std::size_t>(id)] = true;
      seen[b].push_back(static_cast<std::int32_t>(id));
    }
    if (setting.penalty != 1.0) seen_ids.insert(seen_ids.end(), seen[b].begin(), seen[b].end());
    offsets.push_back(static_cast<std::int64_t>(seen_ids.size()));
    o.seed = seed * 100 + b;
    hosts.emplace_back(o);
    if (active[b] && hosts[b].draws()) uniforms[b] = hosts[b].draw();
  }
  gptq_plugin_sampling step{};
  step.size = sizeof step;
  step.temperature = setting.temperature;
  step.top_k = setting.top_k;
  step.top_p = setting.top_p;
  step.repetition_penalty = setting.penalty;
  step.active = active.data();
  step.uniforms = uniforms.data();
  step.seen_ids = seen_ids.data();
  step.seen_offsets = setting.penalty != 1.0 ? offsets.data() : nullptr;

  const DeviceBuffer logits = upload(rows.data(), rows.size(), "test logits");
  DeviceSampler sampler(batch, vocab);
  std::vector<std::int32_t> tokens(b_count, 12345), again(b_count, 12345);
  std::vector<float> back(rows.size(), std::nanf(""));
  sampler.upload(step, nullptr);
  sampler.enqueue(logits.as<const float>(), false, nullptr);
  sampler.fetch(logits.as<const float>(), tokens.data(), back.data(), nullptr);
  sampler.enqueue(logits.as<const float>(), false, nullptr);
  std::vector<float> back_again(rows.size());
  sampler.fetch(logits.as<const float>(), again.data(), back_again.data(), nullptr);
  EXPECT_EQ(tokens, again) << "a second launch chose other tokens";

  Counts c;
  for (std::size_t b = 0; b < b_count; ++b) {
    const std::int32_t got = tokens[b];
    if (!active[b]) {
      EXPECT_EQ(got, GPTQ_PLUGIN_TOKEN_NOT_WANTED) << "inactive row " << b;
      continue;
    }
    const std::vector<float> row(rows.begin() + static_cast<std::ptrdiff_t>(b) * vocab,
                                 rows.begin() + static_cast<std::ptrdiff_t>(b + 1) * vocab);
    std::vector<float> host_row = row;
    const std::int32_t want = hosts[b].next(host_row, seen[b], uniforms[b]);
    if (got == GPTQ_PLUGIN_TOKEN_ON_HOST) {
      ++c.on_host;
      EXPECT_EQ(std::memcmp(back.data() + b * static_cast<std::size_t>(vocab), row.data(), row.size() * sizeof(float)),
                0)
          << "row " << b << " left to the host came back other than it went";
      continue;
    }
    ++c.device;
    EXPECT_GE(got, 0) << "row " << b;
    EXPECT_LT(got, vocab) << "row " << b;
    const double m = margin(row, setting.penalty != 1.0 ? seen[b] : std::vector<std::int32_t>{}, setting,
                            uniforms[b]);
    const bool near_tie = m < kNearTie;
    c.near_ties += near_tie;
    if (got != want) {
      ++c.differ;
      EXPECT_TRUE(near_tie) << "row " << b << ": the device chose " << got << ", the host " << want
                            << " (u " << uniforms[b] << ", margin " << m << ")";
    }
  }
  return c;
}

const Setting kSettings[] = {
    {"greedy", 0.0, 0, 1.0, 1.0, false},
    {"greedy with penalty 1.3", 0.0, 0, 1.0, 1.3, false},
    {"temperature 0.8", 0.8, 0, 1.0, 1.0, false},
    {"temperature 1", 1.0, 0, 1.0, 1.0, false},
    {"top-k 50", 1.0, 50, 1.0, 1.0, false},
    {"top-k 1", 0.7, 1, 1.0, 1.0, false},
    {"top-p 0.9", 1.0, 0, 0.9, 1.0, false},
    {"top-p 0.99", 1.0, 0, 0.99, 1.0, false},
    {"temperature 0.7, top-k 40, top-p 0.9", 0.7, 40, 0.9, 1.0, false},
    {"temperature 0.9, top-p 0.95, penalty 1.2", 0.9, 0, 0.95, 1.2, false},
    {"penalty 0.8, top-k 200", 1.2, 200, 1.0, 0.8, false},
    {"top-p 0 (the likeliest alone)", 1.0, 0, 0.0, 1.0, false},
    // Flattened by the temperature: nearly the whole vocabulary in the nucleus.
    {"huge nucleus (temperature 8, top-p 0.999)", 8.0, 0, 0.999, 1.0, true},
};

TEST(DeviceSampler, ChoosesTheHostSamplersTokens) {
  GPTQ_REQUIRE_DEVICE();
  std::uint64_t seed = 1;
  for (const Setting &s : kSettings) {
    Counts total;
    for (const std::int64_t vocab : {std::int64_t{32000}, std::int64_t{50257}})
      for (const std::int64_t batch : {std::int64_t{1}, std::int64_t{5}, std::int64_t{16}}) {
        const Counts c = check(s, batch, vocab, seed++);
        total.device += c.device;
        total.on_host += c.on_host;
        total.near_ties += c.near_ties;
        total.differ += c.differ;
      }
    std::printf("%-44s rows chosen on the device %3d, left to the host %3d; near-ties %d, tokens that differ %d\n",
                s.name, total.device, total.on_host, total.near_ties, total.differ);
    if (s.all_on_host) {
      EXPECT_EQ(total.device, 0) << s.name << ": a nucleus of most of the vocabulary was chosen on the device";
      EXPECT_GT(total.on_host, 0) << s.name;
    } else {
      // top-p 0.99 over the flattest rows may exceed the candidates; the
      // others never do.
      EXPECT_GT(total.device, 0) << s.name;
      if (s.top_p >= 1.0 || s.top_p <= 0.9 || s.top_k > 0) {
        EXPECT_EQ(total.on_host, 0) << s.name;
      }
    }
  }
}

// A NaN among the logits leaves the row to the host (its result rests on
// the host's comparisons' order); the other rows are chosen as usual.
TEST(DeviceSampler, NanRowsGoToTheHost) {
  GPTQ_REQUIRE_DEVICE();
  const std::int64_t batch = 3, vocab = 1000;
  std::vector<float> rows(static_cast<std::size_t>(batch * vocab), 0.0f);
  rows[5] = 2.0f;                      // row 0: greedy 5
  rows[vocab + 7] = std::nanf("");     // row 1: NaN
  rows[2 * vocab + 999] = 1.0f;        // row 2: greedy 999
  const DeviceBuffer logits = upload(rows.data(), rows.size(), "test logits");
  const std::vector<std::uint8_t> active(3, 1);
  const std::vector<double> uniforms(3, 0.5);
  for (const double temperature : {0.0, 1.0}) {
    gptq_plugin_sampling step{};
    step.size = sizeof step;
    step.temperature = temperature;
    step.top_p = 1.0;
    step.repetition_penalty = 1.0;
    step.active = active.data();
    step.uniforms = uniforms.data();
    DeviceSampler sampler(batch, vocab);
    std::vector<std::int32_t> tokens(3);
    std::vector<float> back(rows.size());
    sampler.upload(step, nullptr);
    sampler.enqueue(logits.as<const float>(), false, nullptr);
    sampler.fetch(logits.as<const float>(), tokens.data(), back.data(), nullptr);
    EXPECT_EQ(tokens[1], GPTQ_PLUGIN_TOKEN_ON_HOST) << "temperature " << temperature;
    EXPECT_TRUE(std::isnan(back[static_cast<std::size_t>(vocab) + 7])) << "row 1 not brought back";
    if (temperature == 0.0) {
      EXPECT_EQ(tokens[0], 5);
      EXPECT_EQ(tokens[2], 999);
    } else {
      EXPECT_GE(tokens[0], 0);
      EXPECT_GE(tokens[2], 0);
    }
  }
}

// What a choice costs on the device: batch 16 over 32000 and 128256 ids,
// top-p 0.9 at temperature 0.8 (informational; the end-to-end figure is
// bench/cuda_generate_bench's).
TEST(DeviceSampler, TimeOfAChoice) {
  GPTQ_REQUIRE_DEVICE();
  for (const std::int64_t vocab : {std::int64_t{32000}, std::int64_t{128256}}) {
    const std::int64_t batch = 16;
    std::mt19937_64 rng(99);
    const std::vector<float> rows = random_rows(rng, batch, vocab);
    const DeviceBuffer logits = upload(rows.data(), rows.size(), "test logits");
    const std::vector<std::uint8_t> active(static_cast<std::size_t>(batch), 1);
    const std::vector<double> uniforms(static_cast<std::size_t>(batch), 0.37);
    DeviceSampler sampler(batch, vocab);
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(batch));
    std::vector<float> back(rows.size());
    for (const auto &[name, temperature, top_p] :
         {std::tuple{"greedy", 0.0, 1.0}, std::tuple{"temperature 0.8", 0.8, 1.0},
          std::tuple{"temperature 0.8, top-p 0.9", 0.8, 0.9}}) {
      gptq_plugin_sampling step{};
      step.size = sizeof step;
      step.temperature = temperature;
      step.top_p = top_p;
      step.repetition_penalty = 1.0;
      step.active = active.data();
      step.uniforms = uniforms.data();
      sampler.upload(step, nullptr);
      constexpr int kReps = 50;
      double total = 0;
      for (int r = 0; r < kReps + 3; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        sampler.enqueue(logits.as<const float>(), false, nullptr);
        sampler.fetch(logits.as<const float>(), tokens.data(), back.data(), nullptr);
        if (r >= 3) total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
      int on_host = 0;
      for (std::int32_t t : tokens) on_host += t == GPTQ_PLUGIN_TOKEN_ON_HOST;
      std::printf("batch %lld x %lld ids, %s: %.1f us a choice of every row (launch, tokens back), %d rows left "
                  "to the host\n",
                  static_cast<long long>(batch), static_cast<long long>(vocab), name, total / kReps * 1e6, on_host);
      EXPECT_EQ(on_host, 0) << name;
    }
  }
}

}  // namespace
}  // namespace gptq::cuda
