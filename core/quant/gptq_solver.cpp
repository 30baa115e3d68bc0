#include "core/quant/gptq_solver.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <numeric>
#include <vector>

#include "core/cpu/parallel_blas.h"
#include "core/cpu/row_chunks.h"
#include "core/quant/inverse_cholesky.h"
#include "core/quant/quant_grid.h"
#include "core/quant/work_estimate.h"

namespace gptq::quant {
namespace {

using Index = std::int64_t;
// Output rows per task: a 128-column block slice is 128 KiB. Fixed, so the
// lazy update's products (one per chunk) do not depend on the thread count.
constexpr Index kRowChunk = 256;

std::size_t at(Index i) { return static_cast<std::size_t>(i); }

constexpr Index kTile = 32;  // square tiles of the transposes: 32 rows of 32 floats stay in L1

// dst[c][r] = src[r][c] for a rows x cols source, in tiles for cache reuse,
// bands of destination rows on the threads.
void transpose(const Compute &compute, const float *src, Index rows, Index cols, float *dst) {
  for_row_chunks(compute, cols, 8 * kTile, [&](Index c_begin, Index c_end) {
    for (Index r0 = 0; r0 < rows; r0 += kTile)
      for (Index c0 = c_begin; c0 < c_end; c0 += kTile)
        for (Index r = r0; r < std::min(rows, r0 + kTile); ++r)
          for (Index c = c0; c < std::min(c_end, c0 + kTile); ++c) dst[c * rows + r] = src[r * cols + c];
  });
}

// fit_grid of every row, in row chunks on the pool (rows are independent).
void fit_grid_rows(const Compute &compute, const float *xt, Index count, Index rows, const QuantOptions &opt,
                   float *scale, float *zero) {
  for_row_chunks(compute, rows, kRowChunk, [&](Index r0, Index r1) {
    fit_grid(xt + r0, count, r1 - r0, rows, opt, scale + r0, zero + r0);
  });
}

// Everything the per-block, per-row-chunk kernel reads and writes.
struct SolveState {
  Index n = 0, k = 0, group = 0;  // group: columns per group (k when per-channel)
  bool grouped = false, static_groups = false;
  const QuantOptions *opt = nullptr;
  float maxq = 0;
  // The K x N and K x K buffers are written in full before they are read, by
  // the threads: no serial zero-fill first (make_unique_for_overwrite).
  std::unique_ptr<float[]> wt;         // [k][n] weights in solve order, updated in place
  std::unique_ptr<float[]> u;          // [k][k] upper Cholesky factor of H^-1 (solve order)
  std::vector<float> err;              // [block][n] scaled errors of the current block
  std::unique_ptr<std::uint8_t[]> q;   // [k][n] codes in solve order
  std::vector<float> scale, zero;  // [groups][n]
  std::vector<std::int32_t> perm;  // solve position -> original column
  std::vector<double> loss;        // per row chunk, summed in order at the end
};

// Fits the grid of the group starting at solve position `col` for rows
// [r0, r1), on the group's current values: columns inside the block are up to
// date in wt; columns beyond it still lack this block's pending updates from
// columns [i1, col), which are applied to a copy.
void fit_group(SolveState &s, Index col, Index i1, Index i2, Index r0, Index r1, std::vector<float> &tmp) {
  const Index width = r1 - r0, gi = col / s.group;
  float *sc = &s.scale[at(gi * s.n + r0)], *zr = &s.zero[at(gi * s.n + r0)];
  const Index end = col + s.group;
  if (col == i1 || end <= i2) {
    fit_grid(&s.wt[at(col * s.n + r0)], s.group, width, s.n, *s.opt, sc, zr);
    return;
  }
  tmp.resize(at(s.group * width));
  for (Index p = col; p < end; ++p) {
    float *dst = &tmp[at((p - col) * width)];
    const float *src = &s.wt[at(p * s.n + r0)];
    std::copy(src, src + width, dst);
    if (p < i2) continue;
    for (Index t = i1; t < col; ++t) {
      const float c = s.u[at(t * s.k + p)];
      const float *e = &s.err[at((t - i1) * s.n + r0)];
      for (Index r = 0; r < width; ++r) dst[r] -= c * e[r];
    }
  }
  fit_grid(tmp.data(), s.group, width, width, *s.opt, sc, zr);
}

// Quantizes solve positions [i1, i2) for rows [r0, r1) with the in-block
// column-by-column updates.
void solve_block_rows(SolveState &s, Index i1, Index i2, Index r0, Index r1, double &loss) {
  std::vector<float> tmp;
  const Index width = r1 - r0;
  for (Index col = i1; col < i2; ++col) {
    Index gi = 0;
    if (s.grouped && !s.static_groups) {
      gi = col / s.group;
      if (col % s.group == 0) fit_group(s, col, i1, i2, r0, r1, tmp);
    } else if (s.grouped) {
      gi = s.perm[at(col)] / s.group;
    }
    const float *__restrict sc = &s.scale[at(gi * s.n + r0)];
    const float *__restrict zr = &s.zero[at(gi * s.n + r0)];
    const float d = s.u[at(col * s.k + col)];
    const float *__restrict w = &s.wt[at(col * s.n + r0)];
    float *__restrict e = &s.err[at((col - i1) * s.n + r0)];
    std::uint8_t *__restrict qc = &s.q[at(col * s.n + r0)];
    double block_loss = 0.0;
    for (Index r = 0; r < width; ++r) {
      const float code = grid_code(w[r], sc[r], zr[r], s.maxq);
      const float ev = (w[r] - grid_dequant(code, sc[r], zr[r])) / d;
      qc[r] = static_cast<std::uint8_t>(code);
      e[r] = ev;
      block_loss += static_cast<double>(ev) * ev;
    }
    loss += block_loss;
    const float *__restrict urow = &s.u[at(col * s.k)];
    for (Index j = col + 1; j < i2; ++j) {
      const float c = urow[j];
      float *__restrict dst = &s.wt[at(j * s.n + r0)];
      for (Index r = 0; r < width; ++r) dst[r] -= c * e[r];
    }
  }
  if (i2 < s.k) {
    // Lazy batch update of these rows: W[i2:, r0:r1] -= U[i1:i2, i2:]^T *
    // Err[:, r0:r1] (solve order), one single-threaded product per chunk.
    serial_gemm(Trans::Yes, Trans::No, s.k - i2, width, i2 - i1, -1.0f, &s.u[at(i1 * s.k + i2)], s.k,
                   &s.err[at(r0)], s.n, 1.0f, &s.wt[at(i2 * s.n + r0)], s.n);
  }
}

}  // namespace

QuantResult gptq_solve(const Compute &compute, const float *w, Index rows, Index cols, const float *h,
                       const QuantOptions &opt, std::string_view layer) {
  SolveState s;
  s.n = rows;
  s.k = cols;
  s.opt = &opt;
  s.grouped = opt.group_size > 0;
  s.static_groups = s.grouped && opt.static_groups;
  s.group = s.grouped ? opt.group_size : cols;
  s.maxq = grid_maxq(opt.bits);
  const Index groups = s.grouped ? cols / s.group : 1;
  const Index kn = rows * cols;
  // Progress: the factorization's share of the estimated work, then the blocks'.
  const SolveWork work = solve_work(cols, rows);
  const double factor_share =
      static_cast<double>(work.factor) / static_cast<double>(std::max<std::uint64_t>(1, work.factor + work.blocks));

  s.wt = std::make_unique_for_overwrite<float[]>(at(kn));
  transpose(compute, w, rows, cols, s.wt.get());
  s.scale.assign(at(groups * rows), 0.0f);
  s.zero.assign(at(groups * rows), 0.0f);
  // Per-channel grids are fitted on W as given, before dead inputs are zeroed
  // (as the reference does); static groups after.
  if (!s.grouped) fit_grid_rows(compute, s.wt.get(), cols, rows, opt, s.scale.data(), s.zero.data());

  // Dead inputs never vary: their weights cannot matter, zero them; a unit
  // diagonal keeps H invertible.
  auto hm = std::make_unique_for_overwrite<float[]>(at(cols * cols));
  for_row_chunks(compute, cols, 8 * kTile,
                 [&](Index i0, Index i1) { std::copy(h + i0 * cols, h + i1 * cols, &hm[at(i0 * cols)]); });
  for (Index j = 0; j < cols; ++j) {
    if (hm[at(j * cols + j)] == 0.0f) {
      hm[at(j * cols + j)] = 1.0f;
      std::fill_n(&s.wt[at(j * rows)], rows, 0.0f);
    }
  }
  if (s.static_groups) {
    for (Index g = 0; g < groups; ++g)
      fit_grid_rows(compute, &s.wt[at(g * s.group * rows)], s.group, rows, opt, &s.scale[at(g * rows)],
                    &s.zero[at(g * rows)]);
  }

  s.perm.resize(at(cols));
  std::iota(s.perm.begin(), s.perm.end(), 0);
  if (opt.desc_act) {
    std::stable_sort(s.perm.begin(), s.perm.end(), [&](std::int32_t a, std::int32_t b) {
      return hm[at(a * cols + a)] > hm[at(b * cols + b)];
    });
    auto pw = std::make_unique_for_overwrite<float[]>(at(kn));
    auto ph = std::make_unique_for_overwrite<float[]>(at(cols * cols));
    for_row_chunks(compute, cols, 8 * kTile, [&](Index i0, Index i1) {
      for (Index i = i0; i < i1; ++i) {
        const Index pi = s.perm[at(i)];
        std::copy_n(&s.wt[at(pi * rows)], rows, &pw[at(i * rows)]);
        for (Index j = 0; j < cols; ++j) ph[at(i * cols + j)] = hm[at(pi * cols + s.perm[at(j)])];
      }
    });
    s.wt.swap(pw);
    hm.swap(ph);
  }

  s.u = std::make_unique_for_overwrite<float[]>(at(cols * cols));
  QuantResult res;
  {
    const auto part = compute.part(0.0, factor_share);
    const auto t0 = std::chrono::steady_clock::now();
    res.damp_percent = damped_inverse_upper_cholesky(compute, hm.get(), cols, opt, layer, s.u.get());
    res.factor_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  hm.reset();

  const Index block = std::min<Index>(opt.block_size, cols);
  s.err.resize(at(block * rows));
  s.q = std::make_unique_for_overwrite<std::uint8_t[]>(at(kn));
  const Index chunks = (rows + kRowChunk - 1) / kRowChunk;
  s.loss.assign(at(chunks), 0.0);
  {
    const auto part = compute.part(factor_share, 1.0);
    for (Index i1 = 0; i1 < cols; i1 += block) {
      const Index i2 = std::min(cols, i1 + block);
      for_row_chunks(compute, rows, kRowChunk, [&](Index r0, Index r1) {
        solve_block_rows(s, i1, i2, r0, r1, s.loss[at(r0 / kRowChunk)]);
      });
      // The blocks' work shrinks with the columns left (the lazy update).
      const double left = static_cast<double>(cols - i2) / static_cast<double>(cols);
      compute.progress(1.0 - left * left);
    }
  }

  res.rows = rows;
  res.cols = cols;
  res.bits = opt.bits;
  res.groups = groups;
  res.loss = std::accumulate(s.loss.begin(), s.loss.end(), 0.0) / 2.0;
  res.g_idx.resize(at(cols));
  for (Index i = 0; i < cols; ++i) {
    const Index orig = s.perm[at(i)];
    res.g_idx[at(orig)] = static_cast<std::int32_t>(!s.grouped ? 0 : (s.static_groups ? orig : i) / s.group);
  }
  if (opt.desc_act) res.perm = s.perm;
  res.scales = std::move(s.scale);
  res.zeros.resize(res.scales.size());
  for (std::size_t i = 0; i < res.zeros.size(); ++i) res.zeros[i] = static_cast<std::int32_t>(s.zero[i]);
  // Back to [rows][cols] in the original column order: tiles of solve
  // positions x rows (the source is column-major in solve order), bands of
  // output rows on the threads.
  res.codes.resize(at(kn));
  res.dequant.resize(at(kn));
  for_row_chunks(compute, rows, 2 * kTile, [&](Index r0, Index r1) {
    for (Index i0 = 0; i0 < cols; i0 += kTile) {
      for (Index r = r0; r < r1; ++r) {
        for (Index i = i0; i < std::min(cols, i0 + kTile); ++i) {
          const Index orig = s.perm[at(i)];
          const Index g = res.g_idx[at(orig)];
          const std::uint8_t c = s.q[at(i * rows + r)];
          res.codes[at(r * cols + orig)] = c;
          res.dequant[at(r * cols + orig)] =
              grid_dequant(static_cast<float>(c), res.scales[at(g * rows + r)], s.zero[at(g * rows + r)]);
        }
      }
    }
  });
  return res;
}

}  // namespace gptq::quant
