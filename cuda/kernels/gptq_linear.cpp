// GptqLinear: the uploaded layer and the per-call choice of kernel and split.
#include "cuda/kernels/gptq_linear.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/cublas_check.h"
#include "cuda/cuda_check.h"
#include "cuda/host_staging.h"
#include "cuda/device_memory.h"
#include "cuda/kernels/chained_launch.h"
#include "cuda/kernels/gptq_kernels.h"
#include "cuda/kernels/gptq_wgmma.h"
#include "cuda/kernels/gptq_wgmma_tma.h"

namespace gptq::cuda {
namespace {

// A host array in a new device buffer, copied on `stream`; `what` names the
// allocation if the device refuses it.
template <class T>
DeviceBuffer upload(const std::vector<T> &v, cudaStream_t stream, std::size_t *bytes, const char *what) {
  DeviceBuffer d(v.size() * sizeof(T), what);
  if (v.empty()) return d;
  copy_to_device(d.get(), v.data(), v.size() * sizeof(T), stream, false);
  *bytes += v.size() * sizeof(T);
  return d;
}

constexpr std::size_t align256(std::size_t b) { return (b + 255) / 256 * 256; }

// How one product runs: which kernel, how K is split.
struct Plan {
  int m_tiles = 0;  // 1, 2, 4, 8 groups of 8 rows: the GEMV; 0: the GEMM;
                    // kCublas: dequantize + cuBLAS; kWgmma: the wgmma kernel
  static constexpr int kCublas = -1, kWgmma = -2;
  kernels::WgmmaConfig wgmma = kernels::WgmmaConfig::kN128R2;
  int splits = 1;
  int k_tiles_per_split = 0;
  int consts_smem = 0;  // kernels::Product::consts_smem
  int x_smem = 0;       // kernels::Product::x_smem
  int n_blocks = 0;     // kernels::Product::n_blocks (the GEMV's fast path)
  bool cluster = false;  // the warp-specialized wgmma kernel sums its splits in a cluster
};

// The most shared memory a GEMV block stages activations in. Each block
// copies its own, so the copy must stay small beside the block's weights
// (16 x K / 2 bytes): measured on H200, staging 64 KiB (m = 8, K = 4096)
// took 11.4 us where reading through L1 took 7.9, while 28 KiB (m = 1,
// K = 14336) took 16.0 us against 22.3.
constexpr int kXStageBudget = 32 * 1024;

// From this many rows on (and on Hopper only for the layers no wgmma kernel
// takes), the product dequantizes the weight to fp16 (in
// chunks of rows of at most kDequantChunkBytes) and multiplies with cuBLAS:
// measured on H200 at m = 256 and 1024, launch_gemm (mma.sync) ran at 0.19-0.26x
// cuBLAS fp16 while the weight's dequantization costs about one fp16 write of
// it. Below, the GEMV and GEMM stream the 4-bit weight once.
constexpr std::int64_t kCublasMinRows = 128;
constexpr std::size_t kDequantChunkBytes = std::size_t{64} << 20;

// The rows the older wgmma kernel (gptq_wgmma.cu) takes, on the layers the
// warp-specialized one below does not (8 bits, groups not 64 << s columns).
// Measured on H200
// (cuda_linear_bench --sweep, the six 7B shapes, with the splits
// wgmma_plan picks): at m = 64 it took 0.79-0.93x the GEMV's time, at
// m = 128 0.61-0.86x dequantize + cuBLAS's; at m = 32 its best shape took
// 1.04-1.08x the GEMV's on four shapes of six, at m = 256 1.05-1.47x
// dequantize + cuBLAS's.
constexpr std::int64_t kWgmmaMinRows = 33, kWgmmaMaxRows = 128;
// The warp-specialized kernel (gptq_wgmma_tma.h; 4-bit, uniform groups)
// takes every m from kTmaMinRows, its tile of batch rows by m. Measured on
// H200 (cuda_linear_bench --sweep, the six 7B shapes, 2026-12-02), time of
// cuBLAS fp16 / ours: at m = 32 its 32-row tile 1.27-1.56x where the GEMV
// (4 row groups) gave 0.71-1.06x, and 1.36-1.52x against the GEMV's 1.81-2.23x
// at m = 16; at m = 64 the 64-row tile 0.91-1.40x (32 rows: 0.75-0.96x); at
// m = 128 the 128-row tile 0.76-1.17x (64 or 256 rows: 0.52-0.81x); from
// 256 rows the 256-row tile 0.56-1.02x at m = 256 and 0.80-0.98x at 1024,
// where dequantize + cuBLAS gave 0.39-0.55x and 0.64-0.73x.
constexpr std::int64_t kTmaMinRows = 17, kTmaN32MaxRows = 32, kTmaN64MaxRows = 64, kTmaN128MaxRows = 128;
// Up to this many rows a layer whose 256-row tiles would fill less than half
// of the SMs takes 128-row tiles instead, K split in two: measured on H200
// (cuda_linear_bench --sweep, 2026-12-03), m = 256, N = 4096: 19.1 / 42.2 /
// 53.7 us (K = 4096 / 11008 / 14336) against 24.8 / 47.5 / 58.1 for the
// 256-row tile with 3 splits; with N >= 11008 the 256-row tile stays ahead.
constexpr std::int64_t kTmaHalfTileMaxRows = 256;

class GptqLinear final : public DeviceLinear {
 public:
  GptqLinear(const GptqPacked &p, cudaStream_t stream, const LinearTuning &tuning)
      : n_(p.n), k_(p.k), k_pad_(p.k_pad), has_zeros_(!p.zeros.empty()), chunk_group_host_(p.chunk_group),
        parts_(p.parts.empty() ? std::vector<std::int64_t>{p.n} : p.parts), tuning_(tuning) {
    if (tuning_.wgmma_config >= static_cast<int>(std::size(kernels::kWgmmaConfigs)))
      throw std::invalid_argument("GPTQ linear: wgmma_config " + std::to_string(tuning_.wgmma_config) +
                                  " (there are " + std::to_string(std::size(kernels::kWgmmaConfigs)) + ")");
    if (parts_.size() > static_cast<std::size_t>(kernels::kMaxOutParts))
      throw CudaError("GPTQ linear: " + std::to_string(parts_.size()) + " fused parts (at most " +
                          std::to_string(kernels::kMaxOutParts) + ")",
                      cudaErrorInvalidValue);
    qweight_ = upload(p.qweight, stream, &bytes_, "a GPTQ linear's packed weights");
    scales_ = upload(p.scales, stream, &bytes_, "a GPTQ linear's scales");
    zeros_ = upload(p.zeros, stream, &bytes_, "a GPTQ linear's zero points");
    chunk_group_ = upload(p.chunk_group, stream, &bytes_, "a GPTQ linear's group index");
    perm_ = upload(p.perm, stream, &bytes_, "a GPTQ linear's column order");
    bias_ = upload(p.bias, stream, &bytes_, "a GPTQ linear's bias");
    GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
    int device = 0;
    GPTQ_CUDA_CHECK(cudaGetDevice(&device));
    GPTQ_CUDA_CHECK(cudaDeviceGetAttribute(&sms_, cudaDevAttrMultiProcessorCount, device));
    limits_ = kernels::prepare_kernels(p.bits);
    wgmma_ = tuning_.path != LinearTuning::Path::kPortable && kernels::wgmma_usable();
    if (wgmma_) kernels::prepare_wgmma(p.bits);
    w_.bits = p.bits;
    w_.qweight = static_cast<const uint4 *>(qweight_.get());
    w_.scales = static_cast<const __half2 *>(scales_.get());
    w_.zeros = static_cast<const __half2 *>(zeros_.get());
    w_.chunk_group = static_cast<const int *>(chunk_group_.get());
    w_.bias = static_cast<const float *>(bias_.get());
    w_.n = static_cast<int>(p.n);
    w_.n_tiles = static_cast<int>(p.n_tiles);
    w_.k_tiles = static_cast<int>(p.k_pad / 64);
    w_.groups = static_cast<int>(p.groups);
    w_.tile_group_shift = p.tile_group_shift;
  }

  std::int64_t in_features() const override { return k_; }
  // n_ counts the padding between fused parts; the members' columns do not.
  std::int64_t out_features() const override {
    std::int64_t sum = 0;
    for (std::int64_t c : parts_) sum += c;
    return sum;
  }
  int parts() const override { return static_cast<int>(parts_.size()); }
  std::int64_t part_features(int i) const override { return parts_.at(static_cast<std::size_t>(i)); }
  std::size_t device_bytes() const override { return bytes_; }

  std::size_t workspace_bytes(std::int64_t m) const override {
    if (m <= 0) return 0;
    const Plan plan = plan_for(m);
    std::size_t b = align256(static_cast<std::size_t>(m) * k_pad_ * sizeof(__half));
    if (plan.m_tiles == Plan::kCublas) {
      b += align256(static_cast<std::size_t>(chunk_rows()) * k_pad_ * sizeof(__half));
      if (w_.bias) b += static_cast<std::size_t>(m) * n_ * sizeof(float);
    } else if (needs_partials(plan)) {
      b += static_cast<std::size_t>(plan.splits) * m * n_ * sizeof(float);
    }
    return b;
  }

  std::string kernel_for(std::int64_t m) const {
    const Plan plan = plan_for(m);
    std::string k = plan.m_tiles > 0                  ? "gemv"
                    : plan.m_tiles == 0               ? "gemm"
                    : plan.m_tiles == Plan::kCublas   ? "dequantize + cublas"
                                                      : "wgmma ";
    if (plan.m_tiles == Plan::kWgmma)
      for (int i = 0; i < static_cast<int>(std::size(kernels::kWgmmaConfigs)); ++i)
        if (kernels::kWgmmaConfigs[i] == plan.wgmma) k += std::to_string(i);
    if (plan.splits > 1) k += " x " + std::to_string(plan.splits) + (plan.cluster ? " splits in a cluster" : " splits");
    return k;
  }

  void forward(const __half *x, __half *y, std::int64_t m, const LinearCall &call) const override {
    forward_parts(x, LinearParts{1, {y}}, m, call);
  }

  void forward_parts(const __half *x, const LinearParts &dest, std::int64_t m, const LinearCall &call) const override {
    if (dest.count != parts())
      throw CudaError("GPTQ linear forward: " + std::to_string(dest.count) + " outputs for a linear of " +
                          std::to_string(parts()) + " fused parts",
                      cudaErrorInvalidValue);
    if (m < 0) throw CudaError("GPTQ linear forward: m = " + std::to_string(m), cudaErrorInvalidValue);
    if (m == 0) return;
    // Every kernel offset is a 32-bit int.
    if (m > 65535 || m * k_pad_ >= (std::int64_t{1} << 31) || m * n_ >= (std::int64_t{1} << 31))
      throw CudaError("GPTQ linear forward: m = " + std::to_string(m) + " rows is too many for one call",
                      cudaErrorInvalidValue);
    const std::size_t need = workspace_bytes(m);
    if (call.workspace_bytes < need || !call.workspace ||
        reinterpret_cast<std::uintptr_t>(call.workspace) % 256 != 0)
      throw CudaError("GPTQ linear forward: the workspace is " + std::to_string(call.workspace_bytes) +
                          " bytes at " + std::to_string(reinterpret_cast<std::uintptr_t>(call.workspace)) +
                          "; m = " + std::to_string(m) + " needs " + std::to_string(need) +
                          " bytes, 256-byte aligned",
                      cudaErrorInvalidValue);
    const Plan plan = plan_for(m);
    const int mi = static_cast<int>(m);
    char *ws = static_cast<char *>(call.workspace);

    kernels::Product p;
    p.x = x;
    p.ldx = static_cast<int>(k_);
    p.m = mi;
    for (int i = 0, first = 0; i < dest.count; ++i) {
      p.out.y[i] = dest.y[i];
      p.out.first[i] = first;
      p.out.cols[i] = static_cast<int>(parts_[static_cast<std::size_t>(i)]);
      first += (p.out.cols[i] + 15) / 16 * 16;
    }
    p.out.count = dest.count;
    // The kernels read rows of the repacked column order with 16-byte loads
    // (the TMA of the warp-specialized wgmma kernel: row strides too).
    if (perm_.get() || reinterpret_cast<std::uintptr_t>(x) % 16 != 0 || (k_ % 8 != 0 && uses_tma(plan))) {
      __half *xw = reinterpret_cast<__half *>(ws);
      kernels::launch_permute(x, mi, static_cast<int>(k_), static_cast<const int *>(perm_.get()),
                              static_cast<int>(k_pad_), xw, call.stream);
      p.x = xw;
      p.ldx = static_cast<int>(k_pad_);
    }
    char *after_x = ws + align256(static_cast<std::size_t>(m) * k_pad_ * sizeof(__half));
    if (plan.m_tiles == Plan::kCublas) {
      dequant_cublas(p, reinterpret_cast<__half *>(after_x), call);
      return;
    }
    if (needs_partials(plan)) p.partial = reinterpret_cast<float *>(after_x);
    p.splits = plan.splits;
    p.k_tiles_per_split = plan.k_tiles_per_split;
    p.consts_smem = plan.consts_smem;
    p.x_smem = plan.x_smem;
    p.pdl = chained_launch_enabled();
    p.n_blocks = plan.n_blocks;
    if (plan.m_tiles > 0)
      kernels::launch_gemv(w_, p, plan.m_tiles, call.stream);
    else if (plan.m_tiles == Plan::kWgmma)
      kernels::launch_wgmma(plan.wgmma, w_, p, call.stream);
    else
      kernels::launch_gemm(w_, p, call.stream);
    if (needs_partials(plan))
      kernels::launch_reduce_splits(p.partial, plan.splits, mi, w_.n, w_.bias, p.out, call.stream);
  }

 private:
  // Rows of the weight dequantized at a time (a multiple of 16).
  int chunk_rows() const {
    const std::size_t rows = kDequantChunkBytes / (static_cast<std::size_t>(k_pad_) * sizeof(__half)) / 16 * 16;
    return static_cast<int>(std::min<std::size_t>(std::max<std::size_t>(rows, 16), static_cast<std::size_t>(w_.n_tiles) * 16));
  }

  // y = x W^T through cuBLAS on the dequantized weight, part by part, chunk
  // by chunk of rows (a part starts on a 16-column tile, as launch_dequant
  // wants); fp32 output and the bias added by launch_reduce_splits when there
  // is a bias (one rounding to fp16, as in the kernels).
  void dequant_cublas(const kernels::Product &p, __half *wbuf, const LinearCall &call) const {
    if (!call.blas)
      throw CudaError("GPTQ linear forward: m = " + std::to_string(p.m) + " rows need the call's cuBLAS handle",
                      cudaErrorInvalidValue);
    const int rows_per = chunk_rows(), k_pad = static_cast<int>(k_pad_), n = w_.n;
    float *out32 = w_.bias ? reinterpret_cast<float *>(reinterpret_cast<char *>(wbuf) +
                                                       align256(static_cast<std::size_t>(rows_per) * k_pad * sizeof(__half)))
                           : nullptr;
    const float one = 1.0f, zero = 0.0f;
    for (int part = 0; part < p.out.count; ++part) {
      const int first = p.out.first[part], cols = p.out.cols[part];
      for (int n0 = 0; n0 < cols; n0 += rows_per) {
        const int rows = std::min(rows_per, cols - n0);
        kernels::launch_dequant(w_, first + n0, rows, wbuf, call.stream);
        // Column-major: C (rows x m) = W^T (rows x k_pad) * x (k_pad x m).
        if (out32)
          GPTQ_CUBLAS_CHECK(cublasGemmEx(call.blas, CUBLAS_OP_T, CUBLAS_OP_N, rows, p.m, k_pad, &one, wbuf,
                                         CUDA_R_16F, k_pad, p.x, CUDA_R_16F, p.ldx, &zero, out32 + first + n0,
                                         CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        else
          GPTQ_CUBLAS_CHECK(cublasGemmEx(call.blas, CUBLAS_OP_T, CUBLAS_OP_N, rows, p.m, k_pad, &one, wbuf,
                                         CUDA_R_16F, k_pad, p.x, CUDA_R_16F, p.ldx, &zero, p.out.y[part] + n0,
                                         CUDA_R_16F, cols, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      }
    }
    if (out32) kernels::launch_reduce_splits(out32, 1, p.m, n, w_.bias, p.out, call.stream);
  }

  static bool uses_tma(const Plan &plan) {
    return plan.m_tiles == Plan::kWgmma && kernels::wgmma_uses_tma(plan.wgmma);
  }
  // Splits of K summed by launch_reduce_splits from fp32 partial sums in the
  // workspace (not those the warp-specialized kernel sums in a cluster).
  static bool needs_partials(const Plan &plan) { return plan.splits > 1 && !plan.cluster; }

  // Split K over blocks only when the tiles alone leave SMs idle (the split
  // costs a second launch and a pass over fp32 partial sums), or when a
  // block's group constants would not fit in shared memory otherwise.
  Plan plan_for(std::int64_t m) const {
    Plan plan;
    const int k_tiles = w_.k_tiles;
    int room = 0;
    if (wgmma_ && (tuning_.path == LinearTuning::Path::kWgmma ||
                   (kernels::wgmma_tma_takes(w_) ? m >= kTmaMinRows : m >= kWgmmaMinRows && m <= kWgmmaMaxRows)))
      return wgmma_plan(m);
    if (m >= kCublasMinRows) {
      plan.m_tiles = Plan::kCublas;
      plan.k_tiles_per_split = k_tiles;
      return plan;
    }
    if (m <= 64) {
      plan.m_tiles = m <= 8 ? 1 : m <= 16 ? 2 : m <= 32 ? 4 : 8;
      room = limits_.gemv[plan.m_tiles == 1 ? 0 : plan.m_tiles == 2 ? 1 : plan.m_tiles == 4 ? 2 : 3];
      const int blocks = w_.n_tiles;
      if (blocks < sms_) plan.splits = std::min((2 * sms_ + blocks - 1) / blocks, std::max(1, k_tiles / 8));
    } else {
      room = limits_.gemm;
      const int blocks = ((w_.n_tiles + 7) / 8) * static_cast<int>((m + 127) / 128);
      if (blocks < sms_) plan.splits = std::min((sms_ + blocks - 1) / blocks, std::max(1, std::min(4, k_tiles / 8)));
    }
    if (plan.m_tiles > 0 && kernels::gemv_uniform(w_, plan.m_tiles)) return uniform_plan(room, plan);
    for (;; ++plan.splits) {
      plan.k_tiles_per_split = (k_tiles + plan.splits - 1) / plan.splits;
      plan.splits = (k_tiles + plan.k_tiles_per_split - 1) / plan.k_tiles_per_split;
      plan.consts_smem = consts_bytes(plan);
      if (plan.consts_smem <= room || plan.k_tiles_per_split == 1) break;
    }
    if (plan.m_tiles > 0 && plan.m_tiles <= 2) {
      const int x = kernels::gemv_x_stage_bytes(static_cast<int>(m), plan.k_tiles_per_split);
      if (x <= kXStageBudget && plan.consts_smem + x <= room) plan.x_smem = x;
    }
    return plan;
  }

  // The wgmma kernels: the tile shape by m (the warp-specialized kernel's
  // 32 / 64 / 128 / 256 batch rows, 128 from 129..256 rows where 256 would
  // leave half the SMs idle; the older kernel's 32 / 64 / 128), K split
  // over blocks as many times as whole blocks still fit in one wave (one
  // block per SM: a second, partial wave measured up to 2x slower on H200),
  // each block keeping >= 4 k-tiles a slice.
  Plan wgmma_plan(std::int64_t m) const {
    Plan plan;
    plan.m_tiles = Plan::kWgmma;
    if (tuning_.wgmma_config >= 0)
      plan.wgmma = kernels::kWgmmaConfigs[tuning_.wgmma_config];
    else
      plan.wgmma = kernels::wgmma_tma_takes(w_) ? (m <= kTmaN32MaxRows    ? kernels::WgmmaConfig::kTmaN32
                                                   : m <= kTmaN64MaxRows  ? kernels::WgmmaConfig::kTmaN64
                                                   : m <= kTmaN128MaxRows ? kernels::WgmmaConfig::kTmaN128
                                                                          : kernels::WgmmaConfig::kTmaN256)
                   : m <= 32                    ? kernels::WgmmaConfig::kN32K4
                   : m <= 64                    ? kernels::WgmmaConfig::kN64R2
                                                : kernels::WgmmaConfig::kN128R2;
    plan.wgmma = kernels::wgmma_config_for(plan.wgmma, w_.bits, w_.tile_group_shift);
    auto tiles_of = [&](kernels::WgmmaConfig c) {
      const kernels::WgmmaGeometry g = kernels::wgmma_geometry(c);
      return static_cast<int>((m + g.batch_rows - 1) / g.batch_rows) *
             ((w_.n_tiles * 16 + g.weight_rows - 1) / g.weight_rows);
    };
    if (tuning_.wgmma_config < 0 && plan.wgmma == kernels::WgmmaConfig::kTmaN256 && m <= kTmaHalfTileMaxRows &&
        2 * tiles_of(plan.wgmma) <= sms_)
      plan.wgmma = kernels::WgmmaConfig::kTmaN128;
    const kernels::WgmmaGeometry geo = kernels::wgmma_geometry(plan.wgmma);
    const int blocks = tiles_of(plan.wgmma);
    const int k_tiles = w_.k_tiles;
    int splits = tuning_.splits > 0 ? tuning_.splits
                                    : std::min(std::max(1, sms_ / blocks), std::max(1, k_tiles / (4 * geo.k_slices)));
    splits = std::max(1, std::min(splits, k_tiles));
    plan.k_tiles_per_split = (k_tiles + splits - 1) / splits;
    plan.splits = (k_tiles + plan.k_tiles_per_split - 1) / plan.k_tiles_per_split;
    // The warp-specialized kernel sums a tile's splits as one cluster when
    // all the clusters run at once; otherwise (more than 8 splits, or a GPC
    // that cannot hold them: on the H200 32 clusters of 4 do not fit, where
    // 128 blocks do) through partial sums as the other kernels, since
    // giving up a split cost more (4096 x 14336 at m = 32, 3 splits in
    // clusters: 26.6 us against 22.0 with 4 through global memory).
    plan.cluster = plan.splits > 1 && kernels::wgmma_uses_tma(plan.wgmma) &&
                   kernels::wgmma_tma_clusters_fit(geo.batch_rows, blocks, plan.splits);
    return plan;
  }

  // The GEMV's fast path: the same splits of K, blocks along N that each
  // take several n-tiles (kernels::gemv_uniform_blocks), the activations
  // read through L1 (gptq_gemv.cu says why); more splits only if a block's
  // constants and sums would not fit in shared memory.
  Plan uniform_plan(int room, Plan plan) const {
    const int k_tiles = w_.k_tiles, shift = w_.tile_group_shift;
    for (;; ++plan.splits) {
      plan.k_tiles_per_split = (k_tiles + plan.splits - 1) / plan.splits;
      plan.splits = (k_tiles + plan.k_tiles_per_split - 1) / plan.k_tiles_per_split;
      plan.n_blocks = kernels::gemv_uniform_blocks(w_.n_tiles, plan.splits, sms_,
                                                   kernels::gemv_blocks_per_sm(plan.m_tiles, false));
      const int nn = (w_.n_tiles + plan.n_blocks - 1) / plan.n_blocks;
      int ng = 0;
      for (int s = 0; s < plan.splits; ++s) {
        const int kb = s * plan.k_tiles_per_split;
        const int ke = std::min(kb + plan.k_tiles_per_split, k_tiles);
        if (kb < ke) ng = std::max(ng, ((ke - 1) >> shift) - (kb >> shift) + 1);
      }
      plan.consts_smem = (kernels::staged_uniform_consts_bytes(nn, ng, plan.m_tiles) + 15) / 16 * 16;
      if (plan.consts_smem <= room || plan.k_tiles_per_split == 1) break;
    }
    return plan;
  }

  // Shared memory for the group constants of the largest split's block
  // (kernels::staged_consts_bytes), rounded up to 16 bytes.
  int consts_bytes(const Plan &plan) const {
    const int ntiles = plan.m_tiles > 0 ? 1 : 8;
    int most = 0;
    for (int s = 0; s < plan.splits; ++s) {
      const int kb = s * plan.k_tiles_per_split;
      const int ke = std::min(kb + plan.k_tiles_per_split, w_.k_tiles);
      if (kb >= ke) continue;
      const int ng = chunk_group_host_[static_cast<std::size_t>(ke) * 4 - 1] -
                     chunk_group_host_[static_cast<std::size_t>(kb) * 4] + 1;
      most = std::max(most, kernels::staged_consts_bytes(ntiles, ng, ke - kb, has_zeros_));
    }
    return (most + 15) / 16 * 16;
  }

  std::int64_t n_, k_, k_pad_;
  bool has_zeros_;
  std::vector<std::int32_t> chunk_group_host_;
  std::vector<std::int64_t> parts_;  // the members' out_features ({n_} when not fused)
  LinearTuning tuning_;
  bool wgmma_ = false;  // this device runs the wgmma kernel and it is allowed
  kernels::ConstsLimits limits_;
  std::size_t bytes_ = 0;
  int sms_ = 1;
  DeviceBuffer qweight_, scales_, zeros_, chunk_group_, perm_, bias_;
  kernels::PackedWeights w_;
};

}  // namespace

std::unique_ptr<DeviceLinear> make_gptq_linear(const GptqPacked &packed, cudaStream_t stream) {
  return std::make_unique<GptqLinear>(packed, stream, LinearTuning{});
}

std::unique_ptr<DeviceLinear> make_gptq_linear(const GptqPacked &packed, cudaStream_t stream,
                                               const LinearTuning &tuning) {
  return std::make_unique<GptqLinear>(packed, stream, tuning);
}

std::string gptq_linear_kernel(const DeviceLinear &linear, std::int64_t m) {
  const auto *g = dynamic_cast<const GptqLinear *>(&linear);
  return g ? g->kernel_for(m) : std::string();
}

std::unique_ptr<DeviceLinear> make_gptq_linear(const HostGptqLinear &w, cudaStream_t stream) {
  return make_gptq_linear(repack_gptq(w), stream);
}

}  // namespace gptq::cuda
