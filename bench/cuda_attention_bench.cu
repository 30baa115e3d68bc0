// The CUDA runtime's attention (cuda/runtime/attention.h: causal_attention,
// the tiled tensor-core kernel for head_dim 128 with split-KV decode)
// against the generic kernel it replaced (generic_attention, the baseline,
// same run, same inputs), on a Llama-2-7B layer (32 heads, 32 KV heads,
// head_dim 128) and a GQA one (32 heads, 8 KV heads):
//  - prefill of 2048 tokens at batch 1, and the calibration forward's
//    attention (batch 128 x 2048 tokens: both timed at batch 16, reported
//    x 8, and ours alone at the whole batch 128);
//  - decode (one new row per sequence) at 128, 2048 and 4096 positions of
//    context, batch 1, 16, 64, with the memory-bandwidth bound: the K/V
//    bytes read at the measured device-to-device copy bandwidth.
// Each figure is the median of kReps replays of a CUDA graph; decode cases
// rotate over copies of the cache (>= 256 MiB in all) so keys and values
// come from HBM, not L2. Each case also checks ours against the baseline
// (max |difference| of the fp16 outputs, printed).
//
// Usage: cuda_attention_bench [output.json] [--quick]
//   --quick: decode only at batch 1 and 64, no calibration case.
// Writes bench/results/cuda_attention-h200.json's format (BENCH.md).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_record.h"
#include "bench/cuda_bench_timing.cuh"
#include "cuda/cuda_check.h"
#include "cuda/runtime/attention.h"
#include "cuda/runtime/decode_attention.h"
#include "cuda/runtime/flash_attention.h"

using namespace gptq::cuda;
using gptq::bench::copy_bandwidth;
using gptq::cuda::DeviceArray;
using gptq::bench::fill_random_half;
using gptq::bench::kReps;
using gptq::bench::time_graph;

namespace {

constexpr std::size_t kRotateBytes = std::size_t{256} << 20;

struct Shape {
  std::string name;
  std::int64_t heads, kv_heads, head_dim;
};

struct Row {
  std::string name;
  double ours = 0, base = 0;
  double limit = -1;                 // decode: us at the copy bandwidth
  double ours_tflops = -1, base_tflops = -1;  // prefill
  double ours_gbps = -1;             // decode: K/V bytes / time
  double max_diff = 0;
  std::int64_t splits = 1;
};

// One case's buffers, `copies` times (copies of the cache for decode).
struct Case {
  std::vector<AttentionArgs> args;
  std::vector<std::unique_ptr<DeviceArray<__half>>> arrays;
  std::unique_ptr<DeviceArray<char>> workspace;
  std::size_t kv_bytes = 0;  // keys and values one call reads
};

Case make_case(const Shape &s, std::int64_t batch, std::int64_t seq, std::int64_t past, int copies,
               cudaStream_t stream) {
  Case c;
  const std::int64_t capacity = past + seq;
  const auto q_n = static_cast<std::size_t>(batch * seq * s.heads * s.head_dim);
  const auto kv_n = static_cast<std::size_t>(batch * s.kv_heads * capacity * s.head_dim);
  c.kv_bytes = 2 * kv_n * sizeof(__half);
  AttentionArgs a;
  a.batch = batch;
  a.seq = seq;
  a.past = past;
  a.capacity = capacity;
  a.heads = s.heads;
  a.kv_heads = s.kv_heads;
  a.head_dim = s.head_dim;
  const std::size_t ws = attention_workspace_bytes(a);
  c.workspace = std::make_unique<DeviceArray<char>>(ws, "the attention workspace");
  a.workspace = c.workspace->get();  // null when ws is 0 (DeviceArray allocates nothing)
  auto array = [&](std::size_t n, std::uint32_t seed, float scale) {
    c.arrays.push_back(std::make_unique<DeviceArray<__half>>(n, "an attention operand"));
    fill_random_half<<<1024, 256, 0, stream>>>(c.arrays.back()->get(), n, seed, scale);
    GPTQ_CUDA_CHECK(cudaGetLastError());
    return c.arrays.back()->get();
  };
  // One q and output for all copies (they are small); keys and values per copy.
  a.q = array(q_n, 1u, 2.0f);
  a.out = array(q_n, 0u, 0.0f);
  for (int i = 0; i < copies; ++i) {
    a.k_cache = array(kv_n, 2u + 2u * static_cast<std::uint32_t>(i), 1.0f);
    a.v_cache = array(kv_n, 3u + 2u * static_cast<std::uint32_t>(i), 1.0f);
    c.args.push_back(a);
  }
  return c;
}

std::vector<__half> read(const AttentionArgs &a) {
  std::vector<__half> h(static_cast<std::size_t>(a.batch * a.seq * a.heads * a.head_dim));
  GPTQ_CUDA_CHECK(cudaMemcpy(h.data(), a.out, h.size() * sizeof(__half), cudaMemcpyDeviceToHost));
  return h;
}

// Times ours and the baseline on one case (ours alone when !baseline); the
// max |difference| of their outputs from one call each.
Row measure(const std::string &name, Case &c, cudaStream_t stream, bool baseline = true) {
  Row r;
  r.name = name;
  // The splits of the kernel causal_attention runs (decode_attention.cu's
  // for one new row of multi-head attention, else flash_attention.cu's).
  r.splits = decode_supports(c.args[0]) ? decode_plan(c.args[0]).splits : flash_plan(c.args[0]).splits;
  const int calls = static_cast<int>(c.args.size());
  r.ours = time_graph(stream, calls, [&] {
    for (const auto &a : c.args) causal_attention(a, stream);
  });
  if (!baseline) {
    r.base = -1;
    return r;
  }
  r.base = time_graph(stream, calls, [&] {
    for (const auto &a : c.args) generic_attention(a, stream);
  });
  causal_attention(c.args[0], stream);
  GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
  const auto ours = read(c.args[0]);
  generic_attention(c.args[0], stream);
  GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
  const auto base = read(c.args[0]);
  for (std::size_t i = 0; i < ours.size(); ++i)
    r.max_diff = std::max(r.max_diff, static_cast<double>(std::fabs(__half2float(ours[i]) - __half2float(base[i]))));
  return r;
}

}  // namespace

int main(int argc, char **argv) {
  std::string out_path = "bench/results/cuda_attention-h200.json";
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick")
      quick = true;
    else
      out_path = a;
  }
  try {
    cudaDeviceProp prop{};
    GPTQ_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    cudaStream_t stream = nullptr;
    GPTQ_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    copy_bandwidth(stream);  // warm-up
    const double copy_gbps = copy_bandwidth(stream);
    std::printf("device: %s (%d SMs), device-to-device copy %.0f GB/s (read + write)\n", prop.name,
                prop.multiProcessorCount, copy_gbps);
    std::printf("%-58s %10s %10s %8s %7s %9s %9s\n", "case", "ours_us", "base_us", "speedup", "splits", "of_limit",
                "max_diff");
    std::vector<Row> rows;
    auto print = [&](const Row &r) {
      if (r.base > 0)
        std::printf("%-58s %10.1f %10.1f %8.2f %7lld", r.name.c_str(), r.ours, r.base, r.base / r.ours,
                    static_cast<long long>(r.splits));
      else
        std::printf("%-58s %10.1f %10s %8s %7lld", r.name.c_str(), r.ours, "-", "-", static_cast<long long>(r.splits));
      if (r.limit > 0)
        std::printf(" %8.0f%%", 100.0 * r.limit / r.ours);
      else
        std::printf(" %9s", "");
      std::printf(" %9.2g", r.max_diff);
      if (r.ours_tflops > 0 && r.base > 0) std::printf("  %.0f vs %.1f TFLOP/s", r.ours_tflops, r.base_tflops);
      if (r.ours_tflops > 0 && r.base <= 0) std::printf("  %.0f TFLOP/s", r.ours_tflops);
      if (r.ours_gbps > 0) std::printf("  %.0f GB/s", r.ours_gbps);
      std::printf("\n");
      std::fflush(stdout);
      rows.push_back(r);
    };

    const std::vector<Shape> shapes = {{"32/32 heads", 32, 32, 128}, {"32/8 heads", 32, 8, 128}};
    for (const Shape &s : shapes) {
      // Prefill: causal, 4 flops per (query, key at or before it, dim).
      struct Prefill {
        std::int64_t batch, seq, scale;
        const char *what;
      };
      std::vector<Prefill> prefills = {{1, 2048, 1, "prefill batch=1 seq=2048"}};
      if (!quick) prefills.push_back({16, 2048, 8, "calibration batch=128 seq=2048 (timed at batch 16, x8)"});
      for (const Prefill &pf : prefills) {
        Case c = make_case(s, pf.batch, pf.seq, 0, 1, stream);
        Row r = measure(s.name + " head_dim 128 " + pf.what, c, stream);
        const double flops = 4.0 * static_cast<double>(s.head_dim * s.heads * pf.batch) *
                             static_cast<double>(pf.seq) * static_cast<double>(pf.seq + 1) / 2.0;
        r.ours_tflops = flops / (r.ours * 1e6);
        r.base_tflops = flops / (r.base * 1e6);
        r.ours *= static_cast<double>(pf.scale);
        r.base *= static_cast<double>(pf.scale);
        print(r);
      }
      if (!quick) {
        // The whole calibration batch, ours alone (the baseline's figure
        // for it is the x8 row above).
        Case c = make_case(s, 128, 2048, 0, 1, stream);
        Row r = measure(s.name + " head_dim 128 calibration batch=128 seq=2048 (ours only)", c, stream, false);
        r.ours_tflops = 4.0 * static_cast<double>(s.head_dim * s.heads * 128) * 2048.0 * 2049.0 / 2.0 / (r.ours * 1e6);
        print(r);
      }
      const std::vector<std::int64_t> batches = quick ? std::vector<std::int64_t>{1, 64}
                                                      : std::vector<std::int64_t>{1, 16, 64};
      for (std::int64_t context : {128, 2048, 4096})
        for (std::int64_t batch : batches) {
          const std::size_t kv = static_cast<std::size_t>(2 * batch * s.kv_heads * context * s.head_dim) * 2;
          const int copies = static_cast<int>(std::max<std::size_t>(2, (kRotateBytes + kv - 1) / kv));
          Case c = make_case(s, batch, 1, context - 1, copies, stream);
          Row r = measure(s.name + " head_dim 128 decode batch=" + std::to_string(batch) +
                              " context=" + std::to_string(context),
                          c, stream);
          r.limit = static_cast<double>(c.kv_bytes) / (copy_gbps * 1e3);
          r.ours_gbps = static_cast<double>(c.kv_bytes) / (r.ours * 1e3);
          print(r);
        }
    }

    const std::string tmp = out_path + ".tmp";
    FILE *f = std::fopen(tmp.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", tmp.c_str());
      return 1;
    }
    std::fprintf(f,
                 "{\n  \"bench\": \"cuda_attention\",\n  \"device\": \"%s\",\n  \"commit\": \"%s\",\n"
                 "  \"date\": \"%s\",\n  \"command\": \"cuda_attention_bench%s\",\n"
                 "  \"copy_bandwidth_GBps\": %.1f,\n"
                 "  \"method\": \"CUDA graph of one call per cache copy (decode: >= 256 MiB of copies, so keys "
                 "and values come from HBM), median of %d replays / copies; baseline = the generic attention "
                 "kernel (a block per query row and head, scalar FMAs) on the same inputs; limit = the K/V bytes "
                 "read at the device-to-device copy bandwidth; decode rows: the cache already holds the new rows (the decode kernel "
                 "without AttentionArgs::new_k; a model's decode step gives it the new rows before RoPE, which adds "
                 "the rotation and the store of one row)\",\n  \"rows\": [\n",
                 prop.name, gptq::bench::commit().c_str(), gptq::bench::utc_now().c_str(), quick ? " --quick" : "",
                 copy_gbps, kReps);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row &r = rows[i];
      if (r.base > 0)
        std::fprintf(f,
                     "    {\"case\": \"%s\", \"unit\": \"us\", \"ours\": %.3f, \"baseline\": %.3f, "
                     "\"baseline_name\": \"generic_attention_kernel\", \"speedup\": %.3f, \"splits\": %lld, "
                     "\"max_abs_diff_vs_baseline\": %.3g",
                     r.name.c_str(), r.ours, r.base, r.base / r.ours, static_cast<long long>(r.splits), r.max_diff);
      else
        std::fprintf(f,
                     "    {\"case\": \"%s\", \"unit\": \"us\", \"ours\": %.3f, \"baseline\": null, "
                     "\"baseline_name\": \"generic_attention_kernel\", \"baseline_note\": \"not run at this "
                     "size; see the batch 16 x8 row\", \"speedup\": null, \"splits\": %lld",
                     r.name.c_str(), r.ours, static_cast<long long>(r.splits));
      if (r.limit > 0)
        std::fprintf(f, ", \"limit\": %.3f, \"of_limit\": %.3f, \"ours_kv_GBps\": %.1f", r.limit, r.limit / r.ours,
                     r.ours_gbps);
      if (r.ours_tflops > 0) std::fprintf(f, ", \"ours_TFLOPs\": %.1f", r.ours_tflops);
      if (r.ours_tflops > 0 && r.base > 0) std::fprintf(f, ", \"baseline_TFLOPs\": %.2f", r.base_tflops);
      std::fprintf(f, "}%s\n", i + 1 < rows.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
    if (std::rename(tmp.c_str(), out_path.c_str()) != 0) {
      std::fprintf(stderr, "cannot rename %s to %s\n", tmp.c_str(), out_path.c_str());
      return 1;
    }
    std::printf("wrote %s\n", out_path.c_str());
    cudaStreamDestroy(stream);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "cuda_attention_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
