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
    // The reference (tests/reference/gptq_ref.py) made every golden with its
    // default retry step.
    g.opt.damp_auto_increment = c.contains("damp_auto_increment") ? c["damp_auto_increment"].get<float>() : 0.0025f;
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

// The golden's dequantized weights, [rows][cols]: scale * (code - zero) of
// each column's group.
inline std::vector<float> golden_dequant(const GoldenCase &g) {
  std::vector<float> q(static_cast<std::size_t>(g.rows * g.cols));
  for (std::int64_t r = 0; r < g.rows; ++r)
    for (std::int64_t c = 0; c < g.cols; ++c) {
      const auto gi = static_cast<std::size_t>(g.g_idx[static_cast<std::size_t>(c)] * g.rows + r);
      const auto i = static_cast<std::size_t>(r * g.cols + c);
      q[i] = g.scales[gi] * (static_cast<float>(g.codes[i]) - static_cast<float>(g.zeros[gi]));
    }
  return q;
}

// A result against a golden case, row by row. GPTQ's rows are independent
// given H^-1, and all that rounding (another BLAS kernel or thread split
// here, torch in the reference) can do to a row is round a value that lies
// within rounding of a tie between two grid points the other way; the error
// feedback then carries the change along the rest of that row (measured over
// OpenBLAS's Haswell, Zen, SkylakeX, Cooperlake, Sandybridge, Nehalem and
// Prescott kernels on 1 and 2 threads: at most one such row in a case, with up
// to 14 of its 256 codes changed). So every row either matches (codes and
// zeros equal, scales equal to fp32 rounding) or is one of `differing_rows`,
// whose number the caller bounds; g_idx matches exactly.
struct GoldenMatch {
  double code_agreement = 0;  // fraction of equal codes
  std::vector<std::int64_t> differing_rows;
};

inline GoldenMatch compare_with_golden(const GoldenCase &g, const QuantResult &r) {
  GoldenMatch m;
  EXPECT_EQ(r.g_idx, g.g_idx) << describe(g);
  if (r.codes.size() != g.codes.size() || r.scales.size() != g.scales.size() || r.zeros.size() != g.zeros.size()) {
    ADD_FAILURE() << describe(g) << ": result sizes differ from the golden's";
    return m;
  }
  const std::int64_t groups = g.spec["groups"];
  std::size_t same = 0;
  for (std::int64_t row = 0; row < g.rows; ++row) {
    const auto begin = static_cast<std::size_t>(row * g.cols), end = begin + static_cast<std::size_t>(g.cols);
    std::size_t row_same = 0;
    for (std::size_t i = begin; i < end; ++i) row_same += r.codes[i] == g.codes[i];
    same += row_same;
    if (row_same != end - begin) {
      m.differing_rows.push_back(row);
      continue;
    }
    for (std::int64_t grp = 0; grp < groups; ++grp) {
      const auto gi = static_cast<std::size_t>(grp * g.rows + row);
      EXPECT_EQ(r.zeros[gi], g.zeros[gi]) << describe(g) << " row " << row << " group " << grp;
      EXPECT_NEAR(r.scales[gi], g.scales[gi], 1e-5f * std::fabs(g.scales[gi]))
          << describe(g) << " row " << row << " group " << grp;
    }
  }
  m.code_agreement = static_cast<double>(same) / static_cast<double>(g.codes.size());
  return m;
}

}  // namespace gptq::quant::testing
