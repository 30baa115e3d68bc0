#include "cuda/quantize/gptq_solve.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "cuda/cublas_check.h"
#include "cuda/cuda_check.h"
#include "cuda/device_memory.h"
#include "cuda/host_staging.h"
#include "cuda/quantize/inverse_cholesky.h"
#include "cuda/plugin_error.h"
#include "cuda/quantize/solve_kernels.h"

namespace gptq::cuda {
namespace {

using Index = std::int64_t;
using Clock = std::chrono::steady_clock;

[[noreturn]] void invalid(const std::string &what) {
  throw InvalidArgument("quantize_solve: " + what);
}

void check_options(const gptq_plugin_quant_options &o, Index cols) {
  if (o.bits != 2 && o.bits != 3 && o.bits != 4 && o.bits != 8)
    invalid("bits must be 2, 3, 4 or 8, got " + std::to_string(o.bits));
  if (o.group_size != -1 && o.group_size <= 0) invalid("group_size must be -1 or > 0, got " + std::to_string(o.group_size));
  if (o.group_size > 0 && cols % o.group_size != 0)
    invalid("cols (" + std::to_string(cols) + ") is not a multiple of group_size (" + std::to_string(o.group_size) + ")");
  if (o.block_size < 1) invalid("block_size must be >= 1, got " + std::to_string(o.block_size));
  if (!(o.damp_percent >= 0.0f && o.damp_percent <= kMaxDampPercent))
    invalid("damp_percent must be in [0, 1], got " + std::to_string(o.damp_percent));
  if (!(o.damp_auto_increment >= 0.0f && o.damp_auto_increment <= 1.0f))
    invalid("damp_auto_increment must be in [0, 1], got " + std::to_string(o.damp_auto_increment));
  if (o.mse && (!(o.mse_norm >= 1.0f && o.mse_norm <= 10.0f) || o.mse_grid < 1 || o.mse_grid > 10000 ||
                !(o.mse_max_shrink >= 0.0f && o.mse_max_shrink <= 1.0f)))
    invalid("MSE parameters out of range (norm " + std::to_string(o.mse_norm) + ", grid " +
            std::to_string(o.mse_grid) + ", max_shrink " + std::to_string(o.mse_max_shrink) + ")");
}

GridParams grid_params(const gptq_plugin_quant_options &o) {
  GridParams g;
  g.maxq = static_cast<float>((1 << o.bits) - 1);
  g.sym = o.sym != 0;
  g.positive_zero = o.positive_zero != 0;
  g.mse = o.mse != 0;
  g.norm = o.mse_norm;
  g.grid = o.mse_grid;
  // As quant_grid.cpp counts the steps (the epsilon keeps 0.7f * 100 at 70).
  g.steps = static_cast<int>(static_cast<double>(o.mse_max_shrink) * o.mse_grid + 1e-4);
  return g;
}

template <class T>
void download(T *host, const DeviceArray<T> &dev, std::size_t count, cudaStream_t s) {
  GPTQ_CUDA_CHECK(cudaMemcpyAsync(host, dev.get(), count * sizeof(T), cudaMemcpyDeviceToHost, s));
}

template <class T>
void upload(DeviceArray<T> &dev, const T *host, std::size_t count, cudaStream_t s) {
  copy_to_device(dev.get(), host, count * sizeof(T), s, false);
}

// Seconds since `t0`, after the device finished the work queued so far.
double lap(const QuantizeDevice &dev, Clock::time_point &t0) {
  dev.sync();
  const auto t1 = Clock::now();
  const double s = std::chrono::duration<double>(t1 - t0).count();
  t0 = t1;
  return s;
}

}  // namespace

void gptq_solve(const QuantizeDevice &dev, const DeviceHessian &h, const float *w, Index n, Index k,
                const gptq_plugin_quant_options &opt, gptq_plugin_quant_result &out, float *dequant_device,
                SolveTimes *times) {
  if (n <= 0 || k <= 0) invalid("rows and cols must be > 0, got " + std::to_string(n) + " x " + std::to_string(k));
  if (h.columns() != k)
    invalid("the Hessian has " + std::to_string(h.columns()) + " columns, the weights " + std::to_string(k));
  if (!w || !out.codes || !out.scales || !out.zeros || !out.g_idx || (!out.dequant && !dequant_device) ||
      (opt.desc_act && !out.perm))
    invalid("a weight or result pointer is null");
  check_options(opt, k);
  const cudaStream_t s = dev.stream();
  SolveTimes t;
  auto t0 = Clock::now();
  const bool grouped = opt.group_size > 0;
  const bool static_groups = grouped && opt.static_groups;
  const Index group = grouped ? opt.group_size : k;
  const Index groups = grouped ? k / group : 1;
  const GridParams grid = grid_params(opt);
  const auto kn = static_cast<std::size_t>(k) * static_cast<std::size_t>(n);
  const auto kk = static_cast<std::size_t>(k) * static_cast<std::size_t>(k);
  const auto gn = static_cast<std::size_t>(groups) * static_cast<std::size_t>(n);
  const auto uk = static_cast<std::size_t>(k);

  DeviceArray<float> wt(kn, "the weights (transposed)");
  {
    DeviceArray<float> wd(kn, "the weights");
    upload(wd, w, kn, s);
    transpose(wd.get(), n, k, wt.get(), s);
    dev.sync();  // wd is freed next
  }
  DeviceArray<float> scale(gn, "the scales"), zero(gn, "the zero points");
  // Per-channel grids are fitted on W as given, before dead inputs are
  // zeroed (as the reference does); static groups after.
  if (!grouped) fit_groups(wt.get(), k, n, 1, grid, scale.get(), zero.get(), s);

  DeviceArray<float> hm(kk, "the solve's copy of H");
  GPTQ_CUDA_CHECK(cudaMemcpyAsync(hm.get(), h.matrix(), kk * sizeof(float), cudaMemcpyDeviceToDevice, s));
  std::vector<float> diag(uk);
  {
    DeviceArray<float> dd(uk, "the diagonal of H");
    diagonal(hm.get(), k, dd.get(), s);
    download(diag.data(), dd, uk, s);
    dev.sync();
  }
  // Dead inputs never vary: their weights cannot matter, zero them; a unit
  // diagonal keeps H invertible.
  std::vector<unsigned char> dead(uk, 0);
  bool any_dead = false;
  for (std::size_t j = 0; j < uk; ++j)
    if (diag[j] == 0.0f) {
      dead[j] = 1;
      diag[j] = 1.0f;
      any_dead = true;
    }
  if (any_dead) {
    DeviceArray<unsigned char> dd(uk, "the dead-input mask");
    upload(dd, dead.data(), uk, s);
    clear_dead_inputs(dd.get(), k, n, hm.get(), wt.get(), s);
    dev.sync();
  }
  if (static_groups) fit_groups(wt.get(), group, n, groups, grid, scale.get(), zero.get(), s);

  std::vector<std::int32_t> perm(uk);
  std::iota(perm.begin(), perm.end(), 0);
  DeviceArray<std::int32_t> perm_d(uk, "the column order");
  if (opt.desc_act) {
    std::stable_sort(perm.begin(), perm.end(), [&](std::int32_t a, std::int32_t b) {
      return diag[static_cast<std::size_t>(a)] > diag[static_cast<std::size_t>(b)];
    });
    upload(perm_d, perm.data(), uk, s);
    {
      DeviceArray<float> pw(kn, "the permuted weights");
      permute_rows(wt.get(), perm_d.get(), k, n, pw.get(), s);
      dev.sync();
      wt = std::move(pw);  // frees the unpermuted copy
    }
    {
      DeviceArray<float> ph(kk, "the permuted H");
      permute_symmetric(hm.get(), perm_d.get(), k, ph.get(), s);
      dev.sync();
      hm = std::move(ph);
    }
  } else {
    upload(perm_d, perm.data(), uk, s);
  }
  std::vector<float> diag_solve(uk);
  for (std::size_t i = 0; i < uk; ++i) diag_solve[i] = diag[static_cast<std::size_t>(perm[i])];
  t.prepare = lap(dev, t0);

  DeviceArray<float> u(kk, "the inverse Cholesky factor");
  out.damp_percent = damped_inverse_upper_cholesky(dev, hm.get(), diag_solve, k, opt, u.get());
  hm.reset();
  t.factor = lap(dev, t0);
  out.factor_seconds = t.factor;

  // Blocks wider than the kernel's shared memory are cut: the lazy update
  // makes the result independent of the width up to rounding.
  const Index block = std::min<Index>({static_cast<Index>(opt.block_size), k, kMaxBlock});
  DeviceArray<float> err(static_cast<std::size_t>(block) * static_cast<std::size_t>(n), "the block's errors");
  DeviceArray<std::uint8_t> q(kn, "the codes (solve order)");
  DeviceArray<double> row_loss(static_cast<std::size_t>(n), "the per-row losses");
  GPTQ_CUDA_CHECK(cudaMemsetAsync(row_loss.get(), 0, row_loss.bytes(), s));
  BlockArgs a;
  a.wt = wt.get();
  a.u = u.get();
  a.err = err.get();
  a.q = q.get();
  a.scale = scale.get();
  a.zero = zero.get();
  a.perm = perm_d.get();
  a.row_loss = row_loss.get();
  a.n = n;
  a.k = k;
  a.group = group;
  a.grouped = grouped;
  a.static_groups = static_groups;
  a.grid = grid;
  for (Index i1 = 0; i1 < k; i1 += block) {
    const Index i2 = std::min(k, i1 + block);
    a.i1 = i1;
    a.i2 = i2;
    gptq_block(a, s);
    if (i2 < k) {
      // W[i2:, :] -= U[i1:i2, i2:]^T Err (solve order); column-major, wt is
      // n x k (ld n), err n x width, U[i1:i2, i2:] is the transposed
      // (k - i2) x width block at u + i1 * k + i2 (ld k).
      const float minus_one = -1.0f, one = 1.0f;
      GPTQ_CUBLAS_CHECK(cublasSgemm(dev.blas(), CUBLAS_OP_N, CUBLAS_OP_T, static_cast<int>(n),
                                    static_cast<int>(k - i2), static_cast<int>(i2 - i1), &minus_one, err.get(),
                                    static_cast<int>(n), u.get() + static_cast<std::size_t>(i1) * uk + i2,
                                    static_cast<int>(k), &one, wt.get() + static_cast<std::size_t>(i2) * n,
                                    static_cast<int>(n)));
    }
    if ((i1 / block) % 8 == 7) dev.check_cancelled("during the GPTQ solve");
  }
  t.blocks = lap(dev, t0);

  // g_idx: a column's group in solve order, or its own for static groups.
  std::vector<std::int32_t> g_idx(uk);
  for (Index i = 0; i < k; ++i) {
    const Index orig = perm[static_cast<std::size_t>(i)];
    g_idx[static_cast<std::size_t>(orig)] =
        static_cast<std::int32_t>(!grouped ? 0 : (static_groups ? orig : i) / group);
  }
  DeviceArray<std::int32_t> g_idx_d(uk, "g_idx");
  upload(g_idx_d, g_idx.data(), uk, s);
  wt.reset();
  u.reset();
  err.reset();
  {
    DeviceArray<std::uint8_t> codes(kn, "the codes");
    // Straight into the caller's device array when there is one: then only
    // a host copy asked for crosses the bus.
    DeviceArray<float> dequant;
    if (!dequant_device) dequant = DeviceArray<float>(kn, "the dequantized weights");
    float *dq = dequant_device ? dequant_device : dequant.get();
    assemble(q.get(), perm_d.get(), g_idx_d.get(), scale.get(), zero.get(), n, k, codes.get(), dq, s);
    download(out.codes, codes, kn, s);
    if (out.dequant)
      GPTQ_CUDA_CHECK(cudaMemcpyAsync(out.dequant, dq, kn * sizeof(float), cudaMemcpyDeviceToHost, s));
    download(out.scales, scale, gn, s);
    std::vector<float> zeros(gn);
    download(zeros.data(), zero, gn, s);
    std::vector<double> losses(static_cast<std::size_t>(n));
    download(losses.data(), row_loss, losses.size(), s);
    dev.sync();
    for (std::size_t i = 0; i < gn; ++i) out.zeros[i] = static_cast<std::int32_t>(zeros[i]);
    out.loss = std::accumulate(losses.begin(), losses.end(), 0.0) / 2.0;
  }
  std::copy(g_idx.begin(), g_idx.end(), out.g_idx);
  if (opt.desc_act) std::copy(perm.begin(), perm.end(), out.perm);
  t.results = lap(dev, t0);
  if (times) *times = t;
}

}  // namespace gptq::cuda
