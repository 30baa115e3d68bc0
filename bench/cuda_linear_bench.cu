// The int4 GPTQ product (cuda/kernels, make_gptq_linear) against cuBLAS fp16
// (cublasGemmEx, fp16 operands, fp32 accumulation) in the same run, on the
// shapes of a 7B-class decoder layer, for batch 1..1024 (ISSUE 15's table).
//
// Both sides read their weights from HBM, not L2: each side holds enough
// copies of its weights to fill >= 256 MiB and one CUDA graph calls them in
// turn; the time of one call is a graph replay / copies, median of 25
// replays (after 3 warm-ups). The device-to-device copy bandwidth (bytes read
// + written) is measured too, and each row gives our weight-read bandwidth
// (repacked bytes / time) as a share of it.
//
// Usage: cuda_linear_bench [output.json] [--quick]
//   --quick: batches 1, 16, 256 only.
//   --fused: instead, Llama-2-7B's q/k/v (3 x 4096x4096) and gate/up
//            (2 x 11008x4096) run apart and as one fused product each
//            (fuse_gptq), batch 1, 4, 16; printed, no JSON.
//   --sweep: instead, every tile shape and split of K of the wgmma kernel
//            (gptq_wgmma.h), the kernels of every GPU and the dispatch's
//            choice, batch 17..2048 (--sweep-m A,B,..: those), against
//            cuBLAS; printed, no JSON. --sweep-configs A,B,..: those
//            wgmma shapes only (indices into kWgmmaConfigs);
//            --sweep-splits A,B,..: those splits (default 0,1,2,4; 0 =
//            the plan's).
//   --one N K M [--wgmma C]: five plain launches of one product (for a
//            profiler or a sanitizer), the wgmma kernel's shape C if given.
// Writes bench/results/cuda_linear-h200.json's format (BENCH.md).
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_record.h"
#include "bench/cuda_bench_timing.cuh"
#include "cuda/cublas_check.h"
#include "cuda/cuda_check.h"
#include "cuda/kernels/gptq_linear.h"
#include "cuda/kernels/gptq_wgmma.h"

using namespace gptq::cuda;
using gptq::bench::copy_bandwidth;
using gptq::cuda::DeviceArray;
using gptq::bench::fill_random_half;
using gptq::bench::kReps;
using gptq::bench::time_graph;

namespace {

constexpr std::size_t kRotateBytes = std::size_t{256} << 20;

__global__ void empty_kernel() {}

// A random 4-bit layer, symmetric, groups of 128 in order (the common GPTQ
// checkpoint), repacked once.
GptqPacked random_layer(std::int64_t n, std::int64_t k, int bits, std::uint32_t seed) {
  const std::int64_t gs = 128, groups = (k + gs - 1) / gs;
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(n * k));
  std::uint32_t state = seed | 1u;
  for (auto &c : codes) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    c = static_cast<std::uint8_t>(state & ((1u << bits) - 1));
  }
  std::vector<std::int32_t> zeros(static_cast<std::size_t>(groups * n), 1 << (bits - 1));
  std::vector<float> scales(static_cast<std::size_t>(groups * n));
  std::uniform_real_distribution<float> sd(0.002f, 0.03f);
  for (auto &s : scales) s = __half2float(__float2half_rn(sd(rng)));
  std::vector<std::int32_t> g_idx(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < k; ++i) g_idx[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i / gs);
  const HostGptqLinear w{bits, n, k, groups, codes.data(), zeros.data(), scales.data(), g_idx.data(), nullptr};
  return repack_gptq(w);
}

struct Row {
  std::string name;
  double ours, cublas, weight_gbps, of_copy, limit;
};

// Copies of `bytes` filling >= kRotateBytes, at least 2: a graph calling
// them in turn reads each from HBM.
int rotate_copies(std::size_t bytes) {
  return static_cast<int>(std::max<std::size_t>(2, (kRotateBytes + bytes - 1) / bytes));
}

// rotate_copies of one layer.
std::vector<std::unique_ptr<DeviceLinear>> rotated_linears(const GptqPacked &packed, cudaStream_t stream,
                                                           const LinearTuning &tuning) {
  std::vector<std::unique_ptr<DeviceLinear>> ls;
  ls.push_back(make_gptq_linear(packed, stream, tuning));
  const int copies = rotate_copies(ls[0]->device_bytes());
  while (static_cast<int>(ls.size()) < copies) ls.push_back(make_gptq_linear(packed, stream, tuning));
  return ls;
}

// The baseline's side: random fp16 copies of an n x k weight filling
// >= kRotateBytes, and the time of one cuBLAS product over them.
struct Fp16Weights {
  int n, k;
  std::size_t w16;
  int copies;
  DeviceArray<__half> w;
  Fp16Weights(int n_, int k_, cudaStream_t stream)
      : n(n_), k(k_), w16(static_cast<std::size_t>(n_) * k_), copies(rotate_copies(w16 * 2)), w(w16 * copies, "wfp16") {
    fill_random_half<<<1024, 256, 0, stream>>>(w.get(), w16 * copies, 17u, 0.02f);
    GPTQ_CUDA_CHECK(cudaGetLastError());
  }
  // y = x W^T for m rows of x, one copy per call, us per call.
  double time_us(cublasHandle_t blas, cudaStream_t stream, const __half *x, __half *y, int m) const {
    const float one = 1.0f, zero = 0.0f;
    return time_graph(stream, copies, [&] {
      for (int c = 0; c < copies; ++c)
        GPTQ_CUBLAS_CHECK(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &one,
                                       w.get() + static_cast<std::size_t>(c) * w16, CUDA_R_16F, k, x, CUDA_R_16F,
                                       k, &zero, y, CUDA_R_16F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    });
  }
};

}  // namespace

int main(int argc, char **argv) {
  std::string out_path = "bench/results/cuda_linear-h200.json";
  bool quick = false, probe = false, fused_groups = false, sweep = false;
  int one_n = 0, one_k = 0, one_m = 0, one_wgmma = -1;
  std::vector<int> sweep_m, sweep_configs, sweep_splits{0, 1, 2, 4};
  // "A,B,C" -> {A, B, C}
  auto int_list = [](std::string v, std::vector<int> &to) {
    while (!v.empty()) {
      const std::size_t c = v.find(',');
      to.push_back(std::atoi(v.substr(0, c).c_str()));
      v = c == std::string::npos ? "" : v.substr(c + 1);
    }
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick")
      quick = true;
    else if (a == "--probe")
      probe = true;
    else if (a == "--fused")
      fused_groups = true;
    else if (a == "--sweep")
      sweep = true;
    else if (a == "--sweep-m" && i + 1 < argc) {
      sweep = true;
      int_list(argv[++i], sweep_m);
    } else if (a == "--sweep-configs" && i + 1 < argc) {
      sweep = true;
      int_list(argv[++i], sweep_configs);
    } else if (a == "--sweep-splits" && i + 1 < argc) {
      sweep = true;
      sweep_splits.clear();
      int_list(argv[++i], sweep_splits);
    }
    else if (a == "--one" && i + 3 < argc) {
      one_n = std::atoi(argv[++i]);
      one_k = std::atoi(argv[++i]);
      one_m = std::atoi(argv[++i]);
    } else if (a == "--wgmma" && i + 1 < argc) {
      one_wgmma = std::atoi(argv[++i]);
    } else
      out_path = a;
  }
  try {
    cudaDeviceProp prop{};
    GPTQ_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    cudaStream_t stream = nullptr;
    GPTQ_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cublasHandle_t blas = nullptr;
    GPTQ_CUBLAS_CHECK(cublasCreate(&blas));
    GPTQ_CUBLAS_CHECK(cublasSetStream(blas, stream));
    DeviceArray<char> blas_ws(std::size_t{64} << 20, "blas_ws");
    GPTQ_CUBLAS_CHECK(cublasSetWorkspace(blas, blas_ws.get(), std::size_t{64} << 20));

    if (one_n > 0) {
      // A few plain launches of one product, for a profiler.
      const GptqPacked packed = random_layer(one_n, one_k, 4, 1u);
      auto l = one_wgmma < 0 ? make_gptq_linear(packed, stream)
                             : make_gptq_linear(packed, stream, {LinearTuning::Path::kWgmma, one_wgmma, 0});
      DeviceArray<__half> x(static_cast<std::size_t>(one_m) * one_k, "x"), y(static_cast<std::size_t>(one_m) * one_n, "y");
      fill_random_half<<<256, 256, 0, stream>>>(x.get(), static_cast<std::size_t>(one_m) * one_k, 5u, 1.0f);
      DeviceArray<char> ws(l->workspace_bytes(one_m), "ws");
      const LinearCall call{stream, blas, ws.get(), l->workspace_bytes(one_m)};
      for (int i = 0; i < 5; ++i) l->forward(x.get(), y.get(), one_m, call);
      GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
      return 0;
    }
    copy_bandwidth(stream);  // warm-up
    const double copy_gbps = copy_bandwidth(stream);
    if (probe) {
      const double empty = time_graph(stream, 32, [&] {
        for (int i = 0; i < 32; ++i) empty_kernel<<<264, 256, 0, stream>>>();
      });
      std::printf("empty kernel (264 x 256 threads) in a graph: %.2f us per node\n", empty);
      for (auto nk : std::vector<std::pair<int, int>>{{4096, 4096}, {14336, 4096}}) {
        const GptqPacked packed = random_layer(nk.first, nk.second, 4, 1u);
        std::vector<std::unique_ptr<DeviceLinear>> ls;
        for (int c = 0; c < 32; ++c) ls.push_back(make_gptq_linear(packed, stream));
        for (int m : {1, 16, 64}) {
          DeviceArray<__half> x(static_cast<std::size_t>(m) * nk.second, "x"), y(static_cast<std::size_t>(m) * nk.first, "y");
          fill_random_half<<<256, 256, 0, stream>>>(x.get(), static_cast<std::size_t>(m) * nk.second, 5u, 1.0f);
          DeviceArray<char> ws(ls[0]->workspace_bytes(m), "ws");
          const LinearCall call{stream, blas, ws.get(), ls[0]->workspace_bytes(m)};
          const double hot = time_graph(stream, 32, [&] {
            for (int c = 0; c < 32; ++c) ls[0]->forward(x.get(), y.get(), m, call);
          });
          const double cold = time_graph(stream, 32, [&] {
            for (auto &l : ls) l->forward(x.get(), y.get(), m, call);
          });
          std::printf("N=%d K=%d m=%d: same weights (L2) %.2f us, 32 copies (HBM) %.2f us, %zu bytes\n",
                      nk.first, nk.second, m, hot, cold, ls[0]->device_bytes());
        }
      }
      return 0;
    }
    std::printf("device: %s (%d SMs), device-to-device copy %.0f GB/s (read + write)\n", prop.name,
                prop.multiProcessorCount, copy_gbps);
    if (fused_groups) {
      struct Group {
        const char *name;
        std::vector<std::int64_t> n;
      };
      const std::int64_t k = 4096;
      for (const Group &g : {Group{"q/k/v", {4096, 4096, 4096}}, Group{"gate/up", {11008, 11008}}}) {
        std::vector<GptqPacked> members;
        std::vector<const GptqPacked *> ptrs;
        std::vector<std::string> names;
        for (std::size_t i = 0; i < g.n.size(); ++i)
          members.push_back(random_layer(g.n[i], k, 4, static_cast<std::uint32_t>(7 + i)));
        for (std::size_t i = 0; i < members.size(); ++i) {
          ptrs.push_back(&members[i]);
          names.push_back("member " + std::to_string(i));
        }
        std::string why;
        const std::optional<GptqPacked> packed = fuse_gptq(ptrs, names, &why);
        if (!packed) throw std::runtime_error("fuse_gptq refused: " + why);
        const std::vector<std::unique_ptr<DeviceLinear>> fused = rotated_linears(*packed, stream, LinearTuning{});
        std::vector<std::vector<std::unique_ptr<DeviceLinear>>> apart;
        const std::size_t bytes = fused[0]->device_bytes();
        const int copies = static_cast<int>(fused.size());
        std::size_t apart_bytes = 0;
        for (int c = 0; c < copies; ++c) {
          apart.emplace_back();
          for (const GptqPacked &m : members) apart.back().push_back(make_gptq_linear(m, stream));
        }
        for (const auto &l : apart[0]) apart_bytes += l->device_bytes();
        for (int m : {1, 4, 16}) {
          DeviceArray<__half> x(static_cast<std::size_t>(m) * k, "x");
          fill_random_half<<<256, 256, 0, stream>>>(x.get(), static_cast<std::size_t>(m) * k, 5u, 1.0f);
          std::vector<std::unique_ptr<DeviceArray<__half>>> ys;
          LinearParts out;
          out.count = static_cast<int>(g.n.size());
          std::size_t ws_bytes = fused[0]->workspace_bytes(m);
          for (std::size_t i = 0; i < g.n.size(); ++i) {
            ys.push_back(std::make_unique<DeviceArray<__half>>(static_cast<std::size_t>(m * g.n[i]), "a fused part's output"));
            out.y[i] = ys.back()->get();
            ws_bytes = std::max(ws_bytes, apart[0][i]->workspace_bytes(m));
          }
          DeviceArray<char> ws(ws_bytes, "ws");
          const LinearCall call{stream, blas, ws.get(), ws_bytes};
          const double t_apart = time_graph(stream, copies, [&] {
            for (auto &group : apart)
              for (std::size_t i = 0; i < group.size(); ++i) group[i]->forward(x.get(), out.y[i], m, call);
          });
          const double t_fused = time_graph(stream, copies, [&] {
            for (auto &l : fused) l->forward_parts(x.get(), out, m, call);
          });
          std::printf("%s batch %d: apart %.2f us, fused %.2f us (%.2fx); device bytes apart %zu, fused %zu\n",
                      g.name, m, t_apart, t_fused, t_apart / t_fused, apart_bytes, bytes);
          std::fflush(stdout);
        }
      }
      return 0;
    }

    const std::vector<std::pair<int, int>> shapes = {{4096, 4096},  {11008, 4096}, {4096, 11008},
                                                     {14336, 4096}, {4096, 14336}, {12288, 4096}};
    if (sweep) {
      if (!kernels::wgmma_usable()) throw std::runtime_error("--sweep: wgmma is not usable on this device");
      struct Variant {
        std::string name;
        LinearTuning tuning;
      };
      std::vector<Variant> variants{{"portable", {LinearTuning::Path::kPortable, -1, 0}},
                                    {"auto", {LinearTuning::Path::kAuto, -1, 0}}};
      for (int cfg = 0; cfg < static_cast<int>(std::size(kernels::kWgmmaConfigs)); ++cfg)
        for (int splits : sweep_splits)
          if (sweep_configs.empty() ||
              std::find(sweep_configs.begin(), sweep_configs.end(), cfg) != sweep_configs.end()) {
            variants.push_back({"wgmma" + std::to_string(cfg) + "/s" + std::to_string(splits),
                                {LinearTuning::Path::kWgmma, cfg, splits}});
          }
      const std::vector<int> ms = sweep_m.empty() ? std::vector<int>{17, 32, 64, 128, 256, 1024, 2048} : sweep_m;
      for (const auto &shape : shapes) {
        const int n = shape.first, k = shape.second;
        const GptqPacked packed = random_layer(n, k, 4, static_cast<std::uint32_t>(n * 31 + k));
        const Fp16Weights fp16(n, k, stream);
        std::vector<double> blas_us;
        for (int m : ms) {
          DeviceArray<__half> x(static_cast<std::size_t>(m) * k, "x"), y(static_cast<std::size_t>(m) * n, "y");
          fill_random_half<<<256, 256, 0, stream>>>(x.get(), static_cast<std::size_t>(m) * k, 5u, 1.0f);
          blas_us.push_back(fp16.time_us(blas, stream, x.get(), y.get(), m));
        }
        std::printf("N=%d K=%d cublas_us", n, k);
        for (std::size_t i = 0; i < ms.size(); ++i) std::printf(" m%d=%.2f", ms[i], blas_us[i]);
        std::printf("\n");
        for (const Variant &v : variants) {
          const std::vector<std::unique_ptr<DeviceLinear>> ours = rotated_linears(packed, stream, v.tuning);
          std::printf("N=%d K=%d %-12s", n, k, v.name.c_str());
          for (std::size_t i = 0; i < ms.size(); ++i) {
            const int m = ms[i];
            DeviceArray<__half> x(static_cast<std::size_t>(m) * k, "x"), y(static_cast<std::size_t>(m) * n, "y");
            fill_random_half<<<256, 256, 0, stream>>>(x.get(), static_cast<std::size_t>(m) * k, 5u, 1.0f);
            const std::size_t ws_bytes = ours[0]->workspace_bytes(m);
            DeviceArray<char> ws(ws_bytes, "ws");
            const LinearCall call{stream, blas, ws.get(), ws_bytes};
            const double t = time_graph(stream, static_cast<int>(ours.size()), [&] {
              for (auto &l : ours) l->forward(x.get(), y.get(), m, call);
            });
            std::printf(" m%d=%.2f(%.2fx)", m, t, blas_us[i] / t);
          }
          std::printf("\n");
          std::fflush(stdout);
        }
      }
      return 0;
    }
    const std::vector<int> batches =
        quick ? std::vector<int>{1, 16, 256} : std::vector<int>{1, 2, 4, 8, 16, 32, 64, 128, 256, 1024};
    std::vector<Row> rows;
    std::printf("%-34s %10s %10s %8s %10s %8s\n", "case", "ours_us", "cublas_us", "speedup",
                "ours_GB/s", "of_copy");
    for (const auto &shape : shapes) {
      const int n = shape.first, k = shape.second;
      const GptqPacked packed = random_layer(n, k, 4, static_cast<std::uint32_t>(n * 31 + k));
      const std::vector<std::unique_ptr<DeviceLinear>> ours = rotated_linears(packed, stream, LinearTuning{});
      const std::size_t ours_bytes = ours[0]->device_bytes();
      const int ours_copies = static_cast<int>(ours.size());
      const Fp16Weights fp16(n, k, stream);

      for (int m : batches) {
        DeviceArray<__half> x(static_cast<std::size_t>(m) * k, "x"), y(static_cast<std::size_t>(m) * n, "y");
        fill_random_half<<<256, 256, 0, stream>>>(x.get(), static_cast<std::size_t>(m) * k, 5u, 1.0f);
        GPTQ_CUDA_CHECK(cudaGetLastError());
        const std::size_t ws_bytes = ours[0]->workspace_bytes(m);
        DeviceArray<char> ws(ws_bytes, "ws");
        const LinearCall call{stream, blas, ws.get(), ws_bytes};
        const double t_ours = time_graph(stream, ours_copies, [&] {
          for (auto &l : ours) l->forward(x.get(), y.get(), m, call);
        });
        const double t_blas = fp16.time_us(blas, stream, x.get(), y.get(), m);
        Row r;
        r.name = "N=" + std::to_string(n) + " K=" + std::to_string(k) + " batch=" + std::to_string(m) +
                 " 4-bit g128 sym";
        r.ours = t_ours;
        r.cublas = t_blas;
        r.weight_gbps = static_cast<double>(ours_bytes) / (t_ours * 1e3);
        r.of_copy = r.weight_gbps / copy_gbps;
        r.limit = static_cast<double>(ours_bytes) / (copy_gbps * 1e3);
        rows.push_back(r);
        std::printf("%-34s %10.2f %10.2f %8.2f %10.0f %7.0f%%\n", r.name.c_str(), t_ours, t_blas,
                    t_blas / t_ours, r.weight_gbps, 100.0 * r.of_copy);
        std::fflush(stdout);
      }
    }

    const std::string tmp = out_path + ".tmp";
    FILE *f = std::fopen(tmp.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", tmp.c_str());
      return 1;
    }
    std::fprintf(f,
                 "{\n  \"bench\": \"cuda_linear\",\n  \"device\": \"%s\",\n  \"commit\": \"%s\",\n"
                 "  \"date\": \"%s\",\n  \"command\": \"cuda_linear_bench%s\",\n"
                 "  \"copy_bandwidth_GBps\": %.1f,\n"
                 "  \"method\": \"CUDA graph of one call per weight copy (>= 256 MiB of copies per side, "
                 "so weights come from HBM), median of %d replays / copies; limit = our repacked bytes at "
                 "the device-to-device copy bandwidth\",\n  \"rows\": [\n",
                 prop.name, gptq::bench::commit().c_str(), gptq::bench::utc_now().c_str(),
                 quick ? " --quick" : "", copy_gbps, kReps);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row &r = rows[i];
      std::fprintf(f,
                   "    {\"case\": \"%s\", \"unit\": \"us\", \"ours\": %.3f, \"baseline\": %.3f, "
                   "\"baseline_name\": \"cublas_fp16_gemmex_fp32acc\", \"speedup\": %.3f, "
                   "\"limit\": %.3f, \"of_limit\": %.3f, \"ours_weight_GBps\": %.1f}%s\n",
                   r.name.c_str(), r.ours, r.cublas, r.cublas / r.ours, r.limit, r.limit / r.ours,
                   r.weight_gbps, i + 1 < rows.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
    if (std::rename(tmp.c_str(), out_path.c_str()) != 0) {
      std::fprintf(stderr, "cannot rename %s to %s\n", tmp.c_str(), out_path.c_str());
      return 1;
    }
    std::printf("wrote %s\n", out_path.c_str());
    cublasDestroy(blas);
    cudaStreamDestroy(stream);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "cuda_linear_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
