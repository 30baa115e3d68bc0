// Reads tests/data/quant/gptq (written by tests/reference/make_gptq_goldens.py)
// and compares a QuantResult with a case's expected output.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/quant/quant_options.h"
#include "core/quant/quant_result.h"
#include "tests/core/quant/quant_test_util.h"

namespace gptq::quant::testing {

struct GoldenCase {
  nlohmann::json spec;
  QuantOptions opt;
  std::vector<float> w, h;
  std::int64_t rows = 0, cols = 0;
  std::vector<std::uint8_t> codes;
  std::vector<float> scales;
  std::vector<std::int32_t> zeros, g_idx;
};

inline std::vector<GoldenCase> load_golden_cases(const std::string &kind) {
  const auto dir = golden_dir("gptq");
  const auto manifest = read_json(dir / "manifest.json");
  std::vector<GoldenCase> out;
  for (const auto &c : manifest["cases"]) {
    if (c["kind"] != kind) continue;
    GoldenCase g;
    g.spec = c;
    g.opt.bits = c["bits"];
    g.opt.group_size = c["group_size"];
    g.opt.sym = c["sym"];
    g.opt.desc_act = c["desc_act"];
    g.opt.static_groups = c["static_groups"];
    g.opt.mse.enabled = c["mse"];
    if (c.contains("block_size")) g.opt.block_size = c["block_size"];
    if (c.contains("damp_percent")) g.opt.damp_percent = c["damp_percent"];
    const auto &win = manifest["inputs"][c["w"].get<std::string>()];
    g.rows = win["shape"][0];
    g.cols = win["shape"][1];
    g.w = read_array<float>(dir / win["file"].get<std::string>());
    if (kind == "gptq") {
      g.h = read_array<float>(dir / manifest["inputs"][c["h"].get<std::string>()]["file"].get<std::string>());
      const float shift = c["h_shift"].get<float>();
      if (shift != 0.0f)
        for (std::int64_t i = 0; i < g.cols; ++i) g.h[static_cast<std::size_t>(i * g.cols + i)] -= shift;
    }
    const auto bytes = read_bytes(dir / c["file"].get<std::string>());
    const auto n = static_cast<std::size_t>(g.rows * g.cols);
    const std::int64_t groups = c["groups"];
    const auto gn = static_cast<std::size_t>(groups * g.rows);
    std::size_t off = 0;
    g.codes.resize(n);
    if (g.opt.bits <= 4) {  // two codes per byte, low nibble first
      for (std::size_t i = 0; i < n; ++i)
        g.codes[i] = static_cast<std::uint8_t>((static_cast<unsigned char>(bytes[i / 2]) >> ((i % 2) * 4)) & 0xF);
      off = n / 2;
    } else {
      std::memcpy(g.codes.data(), bytes.data(), n);
      off = n;
    }
    g.scales.resize(gn);
    std::memcpy(g.scales.data(), bytes.data() + off, gn * 4);
    off += gn * 4;
    g.zeros.resize(gn);
    std::memcpy(g.zeros.data(), bytes.data() + off, gn * 4);
    off += gn * 4;
    g.g_idx.resize(static_cast<std::size_t>(g.cols));
    std::memcpy(g.g_idx.data(), bytes.data() + off, static_cast<std::size_t>(g.cols) * 4);
    out.push_back(std::move(g));
  }
  return out;
}

inline std::string describe(const GoldenCase &g) {
  return g.spec["file"].get<std::string>() + " (" + g.spec.dump() + ")";
}

// Codes agree for >= 99.9% of weights (float ties aside), g_idx exactly,
// scales/zeros for >= 99% of rows (a group fitted after a differing code
// differs a little); returns the code agreement.
inline double expect_matches_golden(const GoldenCase &g, const QuantResult &r) {
  EXPECT_EQ(r.codes.size(), g.codes.size()) << describe(g);
  EXPECT_EQ(r.g_idx, g.g_idx) << describe(g);
  std::size_t same = 0;
  for (std::size_t i = 0; i < g.codes.size() && i < r.codes.size(); ++i) same += r.codes[i] == g.codes[i];
  const double agree = static_cast<double>(same) / static_cast<double>(g.codes.size());
  EXPECT_GE(agree, 0.999) << describe(g);
  std::size_t close = 0;
  for (std::size_t i = 0; i < g.scales.size() && i < r.scales.size(); ++i)
    close += std::fabs(r.scales[i] - g.scales[i]) <= 1e-5f * std::fabs(g.scales[i]) && r.zeros[i] == g.zeros[i];
  EXPECT_GE(static_cast<double>(close), 0.99 * static_cast<double>(g.scales.size())) << describe(g);
  return agree;
}

}  // namespace gptq::quant::testing
