// The CUDA forward engine (cuda/runtime/, reached through the plugin's
// forward group) against the CPU engine, the reference, on both shared
// models: float, and checkpoints quantized here by the CPU with
// round-to-nearest (4-bit g128 symmetric, 3-bit g128 asymmetric; 4-bit with
// k and up left float, so that q/k/v and gate/up cannot be fused) or GPTQ
// (4-bit asymmetric with act-order). Per model
// and checkpoint: the logits of every position of two 256-token windows run
// as one batch (cosine >= 0.9999 per row: fp16 activations against fp32),
// greedy continuations of 32 tokens of three prompts (identical tokens,
// through the KV cache), perplexity on docs_heldout (within 0.3%); and a
// KV cache too large for the device (out of memory naming the sizes).
// Ragged batches (CudaForward.RaggedBatch*): sequences of different lengths
// in one cache, prefill and graph-replayed decode steps, against the CPU
// engine's ragged runs, and generate_batch on both engines; generate_batch
// with the token choice on the device against the host's choice.
// Qwen2 and Mistral have no shared model: their paths run on the Llama
// model's weights renamed by config.json, with random q/k/v biases and
// dynamic RoPE (qwen2, also quantized: biases on fused q/k/v), a
// 64-position sliding window and llama3 RoPE (mistral). Each load's log line
// says which linears run fused, and the test checks it.
// The calibration forward (CudaCalibration.*): the plugin's block runner
// against the CPU engine's run_block, block by block (observer calls,
// inputs, outputs, weights replaced inside the observer), the whole GPTQ
// pipeline on the CUDA engines against the CPU's (both models, perplexity
// on docs_heldout and wikitext2_test), the
// solves' dequantized weights kept on the device against the host round
// trip (the same checkpoint, byte for byte), and a run stopped by its
// observer or cancelled mid-block (the status, and the device's free memory
// as before).
// Without a GPU every test skips, saying why.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <cstdio>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/backend/backend_loader.h"
#include "core/backend/forward_engine.h"
#include "core/backend/quantize_engine.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/eval/generate.h"
#include "core/eval/perplexity.h"
#include "core/io/read_file.h"
#include "core/io/safetensors_writer.h"
#include "core/base/progress.h"
#include "core/cpu/compute.h"
#include "core/config/typed.h"
#include "core/model/block_weights.h"
#include "core/model/model.h"
#include "core/pipeline/quantize_model.h"
#include "tests/support/quantization_agreement.h"
#include "tests/support/quantize_shared.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"
#include "tests/support/test_engines.h"

namespace gptq {
namespace {

struct Gpu {
  Logger log{LogLevel::Info};  // the engines' info lines too (which engine runs what)
  std::unique_ptr<Backend> backend;
  std::string why;
  std::vector<std::string> lines;  // the context log's lines
};

Gpu &gpu() {
  static Gpu *g = [] {
    auto *out = new Gpu;  // lives as long as the process: engines keep its logger
    out->log.set_sink([out](LogLevel, const std::string &m) { out->lines.push_back(m); });
    try {
      out->backend = open_cuda_backend(0, out->log);
    } catch (const Error &e) {
      out->why = e.what();
    }
    return out;
  }();
  return *g;
}

#define GPTQ_REQUIRE_GPU()                                                          \
  do {                                                                              \
    if (!gpu().backend) GTEST_SKIP() << "no usable GPU: " << gpu().why;             \
    ASSERT_NE(gpu().backend->forward_engine(), nullptr) << "the CUDA backend has no forward engine"; \
  } while (0)

double cosine(const float *a, const float *b, std::int64_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

// A checkpoint of `name`: the float model itself, or quantized here.
struct Checkpoint {
  std::filesystem::path dir;
  bool made = false;
  ~Checkpoint() {
    if (made) std::filesystem::remove_all(dir);
  }
};

// The Llama model's files as another architecture of the same layout:
// config.json rewritten, the shards and tokenizer linked, and (qwen2) q/k/v
// biases in a shard of their own, added to the index.
void make_variant(const std::filesystem::path &source, const std::string &kind, Checkpoint &c) {
  namespace fs = std::filesystem;
  c.dir = fs::temp_directory_path() / ("gptq_cuda_forward_" + kind + "_" + std::to_string(::getpid()));
  fs::remove_all(c.dir);
  fs::create_directories(c.dir);
  c.made = true;
  for (const auto &e : fs::directory_iterator(source)) {
    const std::string name = e.path().filename().string();
    if (name != "config.json" && name != "model.safetensors.index.json") fs::create_symlink(e.path(), c.dir / name);
  }
  nlohmann::json config = nlohmann::json::parse(io::read_text_file(source / "config.json", 1 << 20));
  nlohmann::json index = nlohmann::json::parse(io::read_text_file(source / "model.safetensors.index.json", 1 << 24));
  if (kind == "qwen2") {
    config["model_type"] = "qwen2";
    config["architectures"] = {"Qwen2ForCausalLM"};
    config["max_position_embeddings"] = 128;  // x 4: 512 positions, dynamic scaling past 128
    config["rope_parameters"] = {{"rope_theta", 10000.0}, {"rope_type", "dynamic"}, {"factor", 4.0}};
    const std::int64_t layers = config["num_hidden_layers"], heads = config["num_attention_heads"],
                       kv_heads = config["num_key_value_heads"], head_dim = config["head_dim"];
    std::vector<std::vector<float>> values;
    std::vector<io::TensorSource> tensors;
    std::uint32_t state = 12345;
    for (std::int64_t l = 0; l < layers; ++l)
      for (const char *proj : {"q_proj", "k_proj", "v_proj"}) {
        const std::int64_t n = (proj[0] == 'q' ? heads : kv_heads) * head_dim;
        std::vector<float> &b = values.emplace_back(static_cast<std::size_t>(n));
        for (float &v : b) {
          state = state * 1664525u + 1013904223u;
          v = (static_cast<float>(state >> 8) / 16777216.0f - 0.5f) * 0.5f;
        }
        const std::string name = "model.layers." + std::to_string(l) + ".self_attn." + proj + ".bias";
        tensors.push_back({name, DType::F32, {n}, std::as_bytes(std::span(b)), {}});
        index["weight_map"][name] = "biases.safetensors";
      }
    io::write_safetensors(c.dir / "biases.safetensors", tensors);
  } else {
    config["model_type"] = "mistral";
    config["architectures"] = {"MistralForCausalLM"};
    config["sliding_window"] = 64;
    config["rope_parameters"] = {{"rope_theta", 10000.0},     {"rope_type", "llama3"},
                                 {"factor", 8.0},             {"low_freq_factor", 1.0},
                                 {"high_freq_factor", 4.0},   {"original_max_position_embeddings", 256}};
  }
  std::ofstream(c.dir / "config.json") << config.dump(2);
  std::ofstream(c.dir / "model.safetensors.index.json") << index.dump(2);
}

void make_checkpoint(const std::filesystem::path &source, const std::string &kind, Checkpoint &c) {
  if (kind == "float") {
    c.dir = source;
    return;
  }
  if (kind == "qwen2" || kind == "mistral") {
    make_variant(source, kind, c);
    return;
  }
  nlohmann::json cfg = {{"bits", 4}, {"group_size", 128}, {"method", "rtn"}};
  if (kind == "w3g128") cfg = {{"bits", 3}, {"group_size", 128}, {"sym", false}, {"method", "rtn"}};
  // k and up stay float: q/k/v and gate/up cannot run as one product each.
  if (kind == "w4g128_mixed") cfg["modules_to_skip"] = {"self_attn.k_proj", "mlp.up_proj"};
  // GPTQ with act-order: each linear's columns permuted by its Hessian, which
  // q/k/v (and gate/up) share, so that they can still be fused.
  if (kind == "w4g128_actorder")
    cfg = {{"bits", 4},
           {"group_size", 128},
           {"sym", false},
           {"desc_act", true},
           {"calibration", {{"files", {"data/docs_calib.txt"}}, {"nsamples", 16}, {"seqlen", 256}}}};
  if (kind == "qwen2_w4g128") {  // the qwen2 variant (q/k/v biases) quantized
    Checkpoint variant;
    make_variant(source, "qwen2", variant);
    c.dir = testing::quantize_shared_model(variant.dir, cfg, "cuda_forward_" + kind);
  } else {
    c.dir = testing::quantize_shared_model(source, cfg, "cuda_forward_" + kind);
  }
  c.made = true;
}

void compare_engines(const std::string &name, const std::string &kind) {
  GPTQ_REQUIRE_SHARED(source, "models/" + name);
  GPTQ_REQUIRE_SHARED(text_path, "data/docs_heldout.txt");
  Checkpoint checkpoint;
  make_checkpoint(source, kind, checkpoint);
  const auto model = model::Model::open(checkpoint.dir);
  const ForwardEngine &cuda = *gpu().backend->forward_engine();
  const ForwardEngine &cpu = test_forward_engine();
  const auto on_gpu = cuda.prepare(test_compute(), model->spec(), model->weights());
  const auto on_cpu = test_prepare(*model);
  const std::string what = name + " " + kind;

  // What runs fused, as the model's load told the context's log: q/k/v (and
  // gate/up) as one product in every layer where all are 4-bit GPTQ layers
  // of one layout, in none otherwise.
  {
    const auto said = std::find_if(gpu().lines.rbegin(), gpu().lines.rend(), [](const std::string &l) {
      return l.find("one product for q/k/v in ") != std::string::npos;
    });
    ASSERT_NE(said, gpu().lines.rend()) << what << ": the model's load did not say what it fuses";
    std::printf("%s: %s\n", what.c_str(), said->c_str());
    const std::string layers = std::to_string(model->spec().num_layers);
    const bool fuses = kind == "w4g128" || kind == "w4g128_actorder" || kind == "qwen2_w4g128";
    const std::string count = fuses ? layers + " of " + layers + " layers" : "0 of " + layers + " layers";
    EXPECT_NE(said->find("q/k/v in " + count), std::string::npos) << what << ": " << *said;
    if (said->find("gate/up in ") != std::string::npos) {
      EXPECT_NE(said->find("gate/up in " + count), std::string::npos) << what << ": " << *said;
    }
    if (kind == "w4g128_mixed") {
      EXPECT_NE(said->find("k projection is no 4- or 8-bit GPTQ layer"), std::string::npos) << what << ": " << *said;
    }
  }
  const std::vector<std::int32_t> ids = model->tokenizer()->encode(io::read_text_file(text_path, 64 << 20));

  // Logits of two windows as one batch, every position.
  const std::int64_t seq = 256, vocab = model->spec().vocab_size;
  ASSERT_GE(static_cast<std::int64_t>(ids.size()), 2 * seq);
  const std::span<const std::int32_t> window(ids.data(), static_cast<std::size_t>(2 * seq));
  const Matrix want = cpu.run(test_compute(), *on_cpu, window, 2, seq, nullptr, false);
  const Matrix got = cuda.run(test_compute(), *on_gpu, window, 2, seq, nullptr, false);
  ASSERT_EQ(got.rows, want.rows);
  ASSERT_EQ(got.cols, vocab);
  double worst = 1.0, max_diff = 0.0;
  std::int64_t worst_row = 0;
  // The long batch runs the matmuls of many rows; a short window those of a
  // decode step (the kernels differ by the number of rows).
  const std::int64_t short_seq = 12;
  const std::span<const std::int32_t> short_window(ids.data() + 2 * seq, static_cast<std::size_t>(short_seq));
  const Matrix want_short = cpu.run(test_compute(), *on_cpu, short_window, 1, short_seq, nullptr, false);
  const Matrix got_short = cuda.run(test_compute(), *on_gpu, short_window, 1, short_seq, nullptr, false);
  for (const auto &[g, w] : {std::pair<const Matrix *, const Matrix *>{&got, &want}, {&got_short, &want_short}})
    for (std::int64_t r = 0; r < g->rows; ++r) {
      const double c = cosine(g->row(r), w->row(r), vocab);
      if (!(c >= worst)) {
        worst = c;
        worst_row = r;
      }
      for (std::int64_t v = 0; v < vocab; ++v)
        max_diff = std::max(max_diff, static_cast<double>(std::fabs(g->row(r)[v] - w->row(r)[v])));
    }
  std::printf("%s: logits vs CPU, %lld + %lld positions: worst cosine %.7f (row %lld), largest difference %.3g\n",
              what.c_str(), static_cast<long long>(got.rows), static_cast<long long>(short_seq), worst,
              static_cast<long long>(worst_row), max_diff);
  EXPECT_GE(worst, 0.9999) << what << ": row " << worst_row;

  // Greedy continuations through the KV cache.
  schema::GenerationConfigT greedy;
  greedy.max_new_tokens = 32;
  greedy.temperature = 0.0f;
  greedy.stop_at_eos = false;
  // The GPU computes in fp16 and the CPU in fp32, so where the CPU's two best
  // logits are closer than the engines' logits differ, either may win. A
  // continuation may so leave the CPU's only at a step where the CPU's margin
  // for its token over the GPU's is within twice the largest difference seen
  // above; at least 3 of the 5 must be identical throughout (the issue's bar).
  const char *prompts[] = {"The quantized model", "To install the library, run", "A tokenizer splits text into",
                           "The database server", "An index on a column"};
  const double tie = 2.0 * max_diff;
  int same = 0;
  double gpu_seconds = 0;
  for (const char *prompt : prompts) {
    const auto a = eval::generate(test_pool(), cpu, *on_cpu, *model->tokenizer(), prompt, greedy);
    const auto t0 = std::chrono::steady_clock::now();
    const auto b = eval::generate(test_pool(), cuda, *on_gpu, *model->tokenizer(), prompt, greedy);
    gpu_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(a.tokens.size(), 32u) << what << ": " << prompt;
    ASSERT_EQ(b.tokens.size(), 32u) << what << ": " << prompt;
    if (a.tokens == b.tokens) {
      ++same;
      continue;
    }
    const auto first = static_cast<std::size_t>(
        std::mismatch(a.tokens.begin(), a.tokens.end(), b.tokens.begin()).first - a.tokens.begin());
    std::vector<std::int32_t> context = a.prompt_ids;
    context.insert(context.end(), a.tokens.begin(), a.tokens.begin() + static_cast<std::ptrdiff_t>(first));
    const auto n = static_cast<std::int64_t>(context.size());
    const Matrix last = cpu.run(test_compute(), *on_cpu, context, 1, n, nullptr, true);
    const double margin = last.row(0)[a.tokens[first]] - last.row(0)[b.tokens[first]];
    std::printf("%s: '%s' leaves the CPU's continuation at token %zu, where the CPU prefers its token by %.3g "
                "(near-tie bound %.3g)\n",
                what.c_str(), prompt, first, margin, tie);
    EXPECT_LE(margin, tie) << what << ": greedy continuations of '" << prompt << "' differ at token " << first
                           << " where the CPU's choice is no near-tie:\n cpu: " << a.text << "\n gpu: " << b.text;
  }
  std::printf("%s: greedy 32 tokens identical on %d of 5 prompts; GPU %.1f tokens/s (prefill + 32 decode steps, "
              "host sampling)\n",
              what.c_str(), same, 160.0 / gpu_seconds);
  EXPECT_GE(same, 3) << what;

  // Decode steps replayed from a CUDA graph (the default) give the bits of
  // the same steps launched one kernel at a time (GPTQ_CUDA_GRAPHS=0), and
  // of the graph's kernels launched unchained (GPTQ_CHAINED_LAUNCH=0: each
  // waits for the one before to end); the speed of each, for the record
  // (not checked): single-token steps on a 512-position cache after a
  // 128-token prompt, batch 2.
  {
    const int steps = 128;
    const std::int64_t batch = 2;
    std::vector<std::int32_t> prompt(ids.begin(), ids.begin() + 2 * 128);
    auto decode = [&](bool graphs, std::vector<float> &all, double &tokens_per_s, bool chained = true) {
      if (graphs)
        ::unsetenv("GPTQ_CUDA_GRAPHS");
      else
        ::setenv("GPTQ_CUDA_GRAPHS", "0", 1);
      if (!chained) ::setenv("GPTQ_CHAINED_LAUNCH", "0", 1);
      auto cache = cuda.make_cache(*on_gpu, batch, 512);
      ::unsetenv("GPTQ_CUDA_GRAPHS");
      (void)cuda.run(test_compute(), *on_gpu, prompt, batch, 128, cache.get(), true);
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < steps; ++i) {
        const std::int32_t next[2] = {ids[static_cast<std::size_t>(256 + i)], ids[static_cast<std::size_t>(512 + i)]};
        const Matrix l = cuda.run(test_compute(), *on_gpu, next, batch, 1, cache.get(), true);
        all.insert(all.end(), l.data.begin(), l.data.end());
      }
      tokens_per_s = steps / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ::unsetenv("GPTQ_CHAINED_LAUNCH");
    };
    std::vector<float> replayed, launched, unchained;
    double graph_speed = 0, launch_speed = 0, unchained_speed = 0;
    decode(false, launched, launch_speed);
    decode(true, replayed, graph_speed);
    decode(true, unchained, unchained_speed, false);
    ASSERT_EQ(replayed.size(), launched.size());
    ASSERT_EQ(replayed.size(), unchained.size());
    EXPECT_EQ(std::memcmp(replayed.data(), launched.data(), replayed.size() * sizeof(float)), 0)
        << what << ": decode steps replayed from a CUDA graph differ from the same steps launched";
    EXPECT_EQ(std::memcmp(replayed.data(), unchained.data(), replayed.size() * sizeof(float)), 0)
        << what << ": decode steps of chained kernels differ from the same kernels unchained";
    std::printf("%s: decode steps of batch 2 (positions 128..255, logits to the host each step): %.0f steps/s "
                "from a CUDA graph, %.0f unchained, %.0f launched kernel by kernel\n",
                what.c_str(), graph_speed, unchained_speed, launch_speed);
  }

  // Perplexity, the project's protocol.
  const eval::PerplexityOptions options{512, 8};
  const double ppl_cpu = eval::perplexity(test_pool(), cpu, *on_cpu, ids, options).ppl;
  const double ppl_gpu = eval::perplexity(test_pool(), cuda, *on_gpu, ids, options).ppl;
  std::printf("%s: perplexity (8 x 512 of docs_heldout) CPU %.6f, GPU %.6f, delta %+.4f%%\n", what.c_str(), ppl_cpu,
              ppl_gpu, 100.0 * (ppl_gpu / ppl_cpu - 1.0));
  EXPECT_NEAR(ppl_gpu / ppl_cpu, 1.0, 0.003) << what;
}

TEST(CudaForward, LlamaFloat) {
  GPTQ_REQUIRE_GPU();
  compare_engines("docs-llama-16m", "float");
}
TEST(CudaForward, LlamaW4G128) {
  GPTQ_REQUIRE_GPU();
  compare_engines("docs-llama-16m", "w4g128");
}
// Members that cannot be fused run apart (k and up float, the rest 4-bit).
TEST(CudaForward, LlamaW4G128FusionRefused) {
  GPTQ_REQUIRE_GPU();
  compare_engines("docs-llama-16m", "w4g128_mixed");
}
TEST(CudaForward, LlamaW4G128ActOrderAsym) {
  GPTQ_REQUIRE_GPU();
  compare_engines("docs-llama-16m", "w4g128_actorder");
}
TEST(CudaForward, LlamaW3G128Asym) {
  GPTQ_REQUIRE_GPU();
  compare_engines("docs-llama-16m", "w3g128");
}
TEST(CudaForward, Qwen2BiasesDynamicRope) {
  GPTQ_REQUIRE_GPU();
  compare_engines("docs-llama-16m", "qwen2");
}
TEST(CudaForward, Qwen2W4G128FusedWithBiases) {
  GPTQ_REQUIRE_GPU();
  compare_engines("docs-llama-16m", "qwen2_w4g128");
}
TEST(CudaForward, MistralSlidingWindowLlama3Rope) {
  GPTQ_REQUIRE_GPU();
  compare_engines("docs-llama-16m", "mistral");
}
TEST(CudaForward, OptFloat) {
  GPTQ_REQUIRE_GPU();
  compare_engines("docs-opt-15m", "float");
}
TEST(CudaForward, OptW4G128) {
  GPTQ_REQUIRE_GPU();
  compare_engines("docs-opt-15m", "w4g128");
}
TEST(CudaForward, OptW3G128Asym) {
  GPTQ_REQUIRE_GPU();
  compare_engines("docs-opt-15m", "w3g128");
}

// prepare reads and hands tensors over on the call's threads, and the plugin
// repacks and uploads them on those threads, in whatever order they come:
// the prepared model must be the same on one thread as on four, so its
// logits are the same bits (act-order GPTQ with fused q/k/v and gate/up; and
// a mixed checkpoint, float linears among GPTQ ones, whose groups run apart).
// The load's breakdown lines are printed for the report.
TEST(CudaForward, PrepareOnOneOrFourThreadsGivesTheSameModel) {
  GPTQ_REQUIRE_GPU();
  GPTQ_REQUIRE_SHARED(source, "models/docs-llama-16m");
  for (const std::string kind : {"w4g128_actorder", "w4g128_mixed"}) {
    Checkpoint checkpoint;
    make_checkpoint(source, kind, checkpoint);
    const auto model = model::Model::open(checkpoint.dir);
    const ForwardEngine &cuda = *gpu().backend->forward_engine();
    const std::int64_t seq = 64, vocab = model->spec().vocab_size;
    std::vector<std::int32_t> ids(static_cast<std::size_t>(2 * seq));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>((i * 7919 + 13) % vocab);
    const auto logits = [&](int threads) {
      ThreadPool pool(threads);
      const Compute compute(pool);
      const std::size_t seen = gpu().lines.size();
      const auto prepared = cuda.prepare(compute, model->spec(), model->weights());
      for (std::size_t i = seen; i < gpu().lines.size(); ++i)
        if (gpu().lines[i].find("prepared ") != std::string::npos || gpu().lines[i].find(" load, ") != std::string::npos)
          std::printf("%s, %d thread(s): %s\n", kind.c_str(), threads, gpu().lines[i].c_str());
      return cuda.run(compute, *prepared, ids, 2, seq, nullptr, false);
    };
    const Matrix one = logits(1), four = logits(4);
    ASSERT_EQ(one.data.size(), four.data.size()) << kind;
    std::size_t differ = 0;
    float worst = 0;
    for (std::size_t i = 0; i < one.data.size(); ++i)
      if (std::memcmp(&one.data[i], &four.data[i], sizeof(float)) != 0) {
        ++differ;
        worst = std::max(worst, std::fabs(one.data[i] - four.data[i]));
      }
    std::printf("%s: logits prepared on 1 vs 4 threads: %zu of %zu differ (largest difference %g)\n", kind.c_str(),
                differ, one.data.size(), static_cast<double>(worst));
    EXPECT_EQ(differ, 0u) << kind;
  }
}

// A cache the device cannot hold: out of memory, with the bytes asked and free.
// ---- Ragged batches (batched generation) ----

// Three sequences of different lengths in one KV cache, on the GPU against
// the CPU engine (the reference, itself checked against separate runs in
// tests/core/model/forward_test.cpp): a ragged prefill (right-padded, each
// sequence's own count), then 40 decode steps replayed from the cache's CUDA
// graph, sequence 1 finished after step 10 (count 0: it stays in the batch
// and does not advance). Per step and live sequence the logits' cosine
// against the CPU's same ragged run >= 0.9999 (fp16 activations against
// fp32); the same steps launched kernel by kernel (GPTQ_CUDA_GRAPHS=0) give
// the graph's bits, so the graph captured at the first step stays valid as
// the lengths grow apart; and generate_batch's greedy continuations on the
// GPU equal the CPU's, or leave them only at a near-tie (the CPU's margin
// within twice the largest logit difference seen).
void compare_ragged(const std::string &name, const std::string &kind) {
  GPTQ_REQUIRE_SHARED(source, "models/" + name);
  GPTQ_REQUIRE_SHARED(text_path, "data/docs_heldout.txt");
  Checkpoint checkpoint;
  make_checkpoint(source, kind, checkpoint);
  const auto model = model::Model::open(checkpoint.dir);
  const ForwardEngine &cuda = *gpu().backend->forward_engine();
  const ForwardEngine &cpu = test_forward_engine();
  const auto on_gpu = cuda.prepare(test_compute(), model->spec(), model->weights());
  const auto on_cpu = test_prepare(*model);
  const std::string what = name + " " + kind + " ragged";
  const std::vector<std::int32_t> text = model->tokenizer()->encode(io::read_text_file(text_path, 64 << 20));
  const std::int64_t vocab = model->spec().vocab_size;
  // Lengths that straddle key tiles (64) and, for mistral, its 64-position
  // window; sequence b reads the text from offset 1000 b on.
  const std::vector<std::int64_t> prompt = {70, 5, 33};
  const std::int64_t batch = 3, seq = 70, steps = 40, capacity = seq + steps;
  ASSERT_GE(static_cast<std::int64_t>(text.size()), 2000 + capacity);
  auto token = [&](std::int64_t b, std::int64_t i) { return text[static_cast<std::size_t>(1000 * b + i)]; };
  std::vector<std::int32_t> padded(static_cast<std::size_t>(batch * seq), 0);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < prompt[static_cast<std::size_t>(b)]; ++i)
      padded[static_cast<std::size_t>(b * seq + i)] = token(b, i);

  double worst = 1.0, max_diff = 0.0;
  std::string worst_at;
  auto compare = [&](const Matrix &got, const Matrix &want, std::int64_t b, const std::string &at) {
    const double c = cosine(got.row(b), want.row(b), vocab);
    if (!(c >= worst)) {
      worst = c;
      worst_at = at + ", sequence " + std::to_string(b);
    }
    for (std::int64_t v = 0; v < vocab; ++v)
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(got.row(b)[v] - want.row(b)[v])));
  };
  // Runs the prefill and the steps on `engine`, every step's logits appended
  // to `all`; checks the lengths the cache reports.
  auto run = [&](const ForwardEngine &engine, const PreparedModel &prepared, std::vector<Matrix> &all) {
    auto cache = engine.make_cache(prepared, batch, capacity);
    all.push_back(engine.run(test_compute(), prepared, padded, batch, seq, cache.get(), true, prompt));
    for (std::int64_t step = 0; step < steps; ++step) {
      const std::vector<std::int64_t> counts = {1, step < 10 ? 1 : 0, 1};
      std::vector<std::int32_t> next(static_cast<std::size_t>(batch));
      for (std::int64_t b = 0; b < batch; ++b) next[static_cast<std::size_t>(b)] = token(b, cache->length(b));
      all.push_back(engine.run(test_compute(), prepared, next, batch, 1, cache.get(), true, counts));
    }
    EXPECT_EQ(cache->length(0), 70 + steps) << what;
    EXPECT_EQ(cache->length(1), 5 + 10) << what;
    EXPECT_EQ(cache->length(2), 33 + steps) << what;
  };
  std::vector<Matrix> want, replayed, launched;
  run(cpu, *on_cpu, want);
  run(cuda, *on_gpu, replayed);
  ::setenv("GPTQ_CUDA_GRAPHS", "0", 1);
  run(cuda, *on_gpu, launched);
  ::unsetenv("GPTQ_CUDA_GRAPHS");
  ASSERT_EQ(replayed.size(), want.size());
  ASSERT_EQ(launched.size(), want.size());
  bool same_bits = true;
  for (std::size_t i = 0; i < want.size(); ++i) {
    for (std::int64_t b = 0; b < batch; ++b) {
      if (b == 1 && i > 10) continue;  // finished: its row is garbage
      compare(replayed[i], want[i], b, i == 0 ? "prefill" : "step " + std::to_string(i - 1));
    }
    same_bits = same_bits && replayed[i].data.size() == launched[i].data.size() &&
                std::memcmp(replayed[i].data.data(), launched[i].data.data(),
                            replayed[i].data.size() * sizeof(float)) == 0;
  }
  std::printf("%s: prompts of 70, 5, 33 tokens + 40 steps (sequence 1 done after 10) vs the CPU's ragged run: "
              "worst cosine %.7f (%s), largest difference %.3g; graph replay %s the launched steps' bits\n",
              what.c_str(), worst, worst_at.c_str(), max_diff, same_bits ? "gives" : "DIFFERS FROM");
  EXPECT_GE(worst, 0.9999) << what << ": " << worst_at;
  EXPECT_TRUE(same_bits) << what << ": ragged decode steps replayed from the CUDA graph differ from the same steps "
                                    "launched kernel by kernel";

  // generate_batch end to end: each sequence's greedy tokens as the CPU's.
  schema::GenerationConfigT greedy;
  greedy.max_new_tokens = 24;
  greedy.temperature = 0.0f;
  greedy.stop_at_eos = false;
  const std::vector<std::string_view> prompts = {"The quantized model", "An index",
                                                 "To install the library on a new machine, run"};
  const auto a = eval::generate_batch(test_pool(), cpu, *on_cpu, *model->tokenizer(), prompts, greedy);
  const auto b = eval::generate_batch(test_pool(), cuda, *on_gpu, *model->tokenizer(), prompts, greedy);
  ASSERT_EQ(b.size(), prompts.size());
  const double tie = 2.0 * max_diff;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_EQ(b[i].tokens.size(), 24u) << what << ": " << prompts[i];
    if (a[i].tokens == b[i].tokens) continue;
    const auto first = static_cast<std::size_t>(
        std::mismatch(a[i].tokens.begin(), a[i].tokens.end(), b[i].tokens.begin()).first - a[i].tokens.begin());
    std::vector<std::int32_t> context = a[i].prompt_ids;
    context.insert(context.end(), a[i].tokens.begin(), a[i].tokens.begin() + static_cast<std::ptrdiff_t>(first));
    const auto n = static_cast<std::int64_t>(context.size());
    const Matrix last = cpu.run(test_compute(), *on_cpu, context, 1, n, nullptr, true);
    const double margin = last.row(0)[a[i].tokens[first]] - last.row(0)[b[i].tokens[first]];
    std::printf("%s: generate_batch's sequence %zu leaves the CPU's at token %zu, margin %.3g (near-tie bound "
                "%.3g)\n",
                what.c_str(), i, first, margin, tie);
    EXPECT_LE(margin, tie) << what << ": sequence " << i << " differs at token " << first
                           << " where the CPU's choice is no near-tie:\n cpu: " << a[i].text
                           << "\n gpu: " << b[i].text;
  }
}

TEST(CudaForward, RaggedBatchLlamaFloat) {
  GPTQ_REQUIRE_GPU();
  compare_ragged("docs-llama-16m", "float");
}
TEST(CudaForward, RaggedBatchLlamaW4G128) {
  GPTQ_REQUIRE_GPU();
  compare_ragged("docs-llama-16m", "w4g128");
}
TEST(CudaForward, RaggedBatchQwen2DynamicRope) {
  GPTQ_REQUIRE_GPU();
  compare_ragged("docs-llama-16m", "qwen2");
}
TEST(CudaForward, RaggedBatchMistralSlidingWindow) {
  GPTQ_REQUIRE_GPU();
  compare_ragged("docs-llama-16m", "mistral");
}
// Learned positions: each sequence's position embeddings from its own length.
TEST(CudaForward, RaggedBatchOptFloat) {
  GPTQ_REQUIRE_GPU();
  compare_ragged("docs-opt-15m", "float");
}

// generate_batch with each token chosen on the device (plugin table v7,
// cuda/runtime/device_sampler.h) against the same generation with every row
// of logits brought to the host and the host sampler choosing
// (GPTQ_GPU_SAMPLING=0): the forward passes are the same kernels, so the
// logits are the same bits, and the device's choice is the host's except
// where a draw lies within rounding of a cumulative boundary (the device
// sums in another order), which at a chance of about 1e-15 a draw does not
// happen in these 6 x 48 tokens a config: the tokens must be the same.
// Greedy (with a penalty), temperature with top-k, top-p and penalty, and
// top-p alone, seeded. The device's choice is made inside the captured
// decode step and, with GPTQ_CUDA_GRAPHS=0, after each step launched kernel
// by kernel: the same tokens (the penalty's seen tokens outgrow their buffer
// during a generation, so the graph is captured again with the new one).
TEST(CudaForward, GenerateBatchChoosesOnTheDeviceAsTheHostDoes) {
  GPTQ_REQUIRE_GPU();
  GPTQ_REQUIRE_SHARED(source, "models/docs-llama-16m");
  const auto model = model::Model::open(source);
  const ForwardEngine &cuda = *gpu().backend->forward_engine();
  const auto prepared = cuda.prepare(test_compute(), model->spec(), model->weights());
  const std::vector<std::string_view> prompts = {"The quantized model", "An index", "SELECT",
                                                 "To install the library on a new machine, run",
                                                 "The PostgreSQL documentation explains how to", "Tables"};
  const char *const configs[] = {
      R"({"temperature": 0, "max_new_tokens": 48, "stop_at_eos": false})",
      R"({"temperature": 0, "repetition_penalty": 1.3, "max_new_tokens": 48, "stop_at_eos": false})",
      R"({"temperature": 0.8, "top_k": 40, "top_p": 0.9, "repetition_penalty": 1.2, "seed": 7,
          "max_new_tokens": 48, "stop_at_eos": false})",
      R"({"temperature": 1.0, "top_p": 0.95, "seed": 3, "max_new_tokens": 48, "stop_at_eos": false})",
      R"({"temperature": 1.2, "seed": 5, "max_new_tokens": 48})"};
  for (const char *cfg : configs) {
    const schema::GenerationConfigT config = config::parse_generation_config(cfg);
    ::setenv("GPTQ_GPU_SAMPLING", "0", 1);
    const auto t0 = std::chrono::steady_clock::now();
    const auto on_host = eval::generate_batch(test_pool(), cuda, *prepared, *model->tokenizer(), prompts, config);
    const auto t1 = std::chrono::steady_clock::now();
    ::unsetenv("GPTQ_GPU_SAMPLING");
    const auto on_device = eval::generate_batch(test_pool(), cuda, *prepared, *model->tokenizer(), prompts, config);
    const auto t2 = std::chrono::steady_clock::now();
    // The decode steps' choice inside the captured graph (above) against the
    // same choice launched after each kernel-by-kernel step.
    ::setenv("GPTQ_CUDA_GRAPHS", "0", 1);
    const auto eager = eval::generate_batch(test_pool(), cuda, *prepared, *model->tokenizer(), prompts, config);
    ::unsetenv("GPTQ_CUDA_GRAPHS");
    ASSERT_EQ(on_device.size(), prompts.size());
    ASSERT_EQ(eager.size(), prompts.size());
    std::size_t same = 0, tokens = 0;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(on_device[i].tokens, eager[i].tokens) << cfg << ": prompt " << i << ", graphs on and off";
      EXPECT_EQ(on_device[i].tokens, on_host[i].tokens) << cfg << ": prompt " << i << "\n host:   "
                                                        << on_host[i].text << "\n device: " << on_device[i].text;
      EXPECT_EQ(on_device[i].text, on_host[i].text) << cfg << ": prompt " << i;
      EXPECT_EQ(on_device[i].reason, on_host[i].reason) << cfg << ": prompt " << i;
      same += on_device[i].tokens == on_host[i].tokens;
      tokens += on_device[i].tokens.size();
    }
    std::printf("%s\n  %zu of %zu sequences the same (%zu tokens); host choice %.1f ms, device choice %.1f ms\n", cfg,
                same, prompts.size(), tokens, std::chrono::duration<double>(t1 - t0).count() * 1e3,
                std::chrono::duration<double>(t2 - t1).count() * 1e3);
  }
}

TEST(CudaForward, CacheTooLargeIsOutOfMemoryWithTheSizes) {
  GPTQ_REQUIRE_GPU();
  GPTQ_REQUIRE_SHARED(source, "models/docs-llama-16m");
  const auto model = model::Model::open(source);
  const ForwardEngine &cuda = *gpu().backend->forward_engine();
  const auto prepared = cuda.prepare(test_compute(), model->spec(), model->weights());
  try {
    (void)cuda.make_cache(*prepared, std::int64_t{1} << 20, 2048);
    FAIL() << "a 6 TiB KV cache was allocated";
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::OutOfMemory) << e.what();
    const std::string m = e.what();
    EXPECT_NE(m.find("bytes asked"), std::string::npos) << m;
    EXPECT_NE(m.find("free"), std::string::npos) << m;
    EXPECT_NE(m.find("KV cache"), std::string::npos) << m;
    std::printf("out of memory as expected: %s\n", m.c_str());
  }
  // The device is usable afterwards: a small cache and a run on it.
  auto cache = cuda.make_cache(*prepared, 1, 8);
  const std::int32_t ids[] = {1, 2, 3};
  const Matrix logits = cuda.run(test_compute(), *prepared, ids, 1, 3, cache.get(), true);
  EXPECT_EQ(logits.rows, 1);
  EXPECT_EQ(cache->length(0), 3);
  // Past its capacity: refused, and the cache is left as it was.
  const std::int32_t more[] = {4, 5, 6, 7, 8, 9};
  try {
    (void)cuda.run(test_compute(), *prepared, more, 1, 6, cache.get(), true);
    FAIL() << "ran past the cache's capacity";
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
  }
  EXPECT_EQ(cache->length(0), 3);
}

// ---- The calibration forward on the device ----

// ||a - b|| / ||b|| over all elements.
double relative_l2(const std::vector<float> &a, const std::vector<float> &b) {
  double d = 0, n = 0;
  for (std::size_t i = 0; i < b.size() && i < a.size(); ++i) {
    d += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    n += static_cast<double>(b[i]) * b[i];
  }
  return a.size() == b.size() ? std::sqrt(d / n) : INFINITY;
}

// Bound on the normwise relative difference of one block's linear inputs
// and output between the device (fp16 linear inputs, weights and outputs,
// fp32 elsewhere) and the CPU (fp32): every value on the way to a linear's
// input has passed at most 8 roundings to fp16 (down_proj's input: the
// block input's to the attention, q/k/v weights and outputs, the attention
// output, o's weight and output, the MLP input, gate/up's weights and
// outputs, the activation's product), each at most 2^-11 relative; the sum of
// 8, doubled for what cancellation in the products can amplify.
constexpr double kBlockBound = 16.0 / 2048.0;

// What an observer saw: names, whether each input was the previous one's
// object, and the inputs on the host.
struct Seen {
  std::vector<std::string> names;
  std::vector<bool> shares_previous;
  std::vector<std::vector<float>> inputs;
  const Activations *last = nullptr;
  ActivationsObserver observer(std::function<void(std::string_view)> also = {}) {
    return [this, also](std::string_view name, const Activations &a) {
      names.emplace_back(name);
      shares_previous.push_back(&a == last);
      last = &a;
      Matrix scratch;
      const auto &d = a.host(scratch).data;
      inputs.emplace_back(d.begin(), d.end());
      if (also) also(name);
      return model::ObserverReply::kRunOn;
    };
  }
};

std::vector<float> rows_of(const Activations &a) {
  Matrix scratch;
  const auto &d = a.host(scratch).data;
  return {d.begin(), d.end()};
}

void compare_calibration_blocks(const std::string &name) {
  GPTQ_REQUIRE_SHARED(source, "models/" + name);
  GPTQ_REQUIRE_SHARED(text_path, "data/docs_calib.txt");
  const auto model = model::Model::open(source);
  const model::ModelSpec &spec = model->spec();
  const ForwardEngine &cuda = *gpu().backend->forward_engine();
  const ForwardEngine &cpu = test_forward_engine();
  const std::vector<std::int32_t> all = model->tokenizer()->encode(io::read_text_file(text_path, 64 << 20));
  const std::int64_t batch = 4, seq = 256;
  ASSERT_GE(static_cast<std::int64_t>(all.size()), batch * seq);
  const std::span<const std::int32_t> ids(all.data(), static_cast<std::size_t>(batch * seq));
  const model::GlobalWeights globals = model::load_global_weights(spec, model->weights());
  auto hidden = cuda.embed(test_compute(), spec, globals, ids, batch, seq);
  {
    Matrix scratch;
    EXPECT_EQ(&hidden->host(scratch), &scratch) << "the hidden state is not in the device's memory";
    EXPECT_EQ(std::vector<float>(scratch.data.begin(), scratch.data.end()),
              rows_of(*cpu.embed(test_compute(), spec, globals, ids, batch, seq)));
  }
  const auto &layout = spec.arch->block_layout;
  const std::int64_t last = spec.num_layers - 1;
  for (std::int64_t layer = 0; layer <= last; ++layer) {
    const model::BlockWeights w = model::load_block_weights(spec, model->weights(), layer);
    if (layer != 0 && layer != last) {
      cuda.run_block(test_compute(), spec, w, *hidden, batch, seq, {});
      continue;
    }
    const std::string what = name + " layer " + std::to_string(layer);
    // The same input for both engines: the device's, read back.
    const auto input = cuda.copy(*hidden);
    auto on_cpu = cpu.copy(*hidden);
    Seen seen_cpu, seen_gpu;
    cpu.run_block(test_compute(), spec, w, *on_cpu, batch, seq, seen_cpu.observer());
    cuda.run_block(test_compute(), spec, w, *hidden, batch, seq, seen_gpu.observer());
    EXPECT_EQ(seen_gpu.names, seen_cpu.names) << what;
    EXPECT_EQ(seen_gpu.shares_previous, seen_cpu.shares_previous) << what << ": shared inputs";
    for (std::size_t i = 0; i < seen_cpu.inputs.size() && i < seen_gpu.inputs.size(); ++i) {
      const double rel = relative_l2(seen_gpu.inputs[i], seen_cpu.inputs[i]);
      std::printf("%s: input of %-22s relative L2 difference %.3g (bound %.3g)\n", what.c_str(),
                  seen_cpu.names[i].c_str(), rel, kBlockBound);
      EXPECT_LE(rel, kBlockBound) << what << " " << seen_cpu.names[i];
    }
    const std::vector<float> out_cpu = rows_of(*on_cpu), out_gpu = rows_of(*hidden);
    const double rel_out = relative_l2(out_gpu, out_cpu);
    std::printf("%s: block output relative L2 difference %.3g (bound %.3g)\n", what.c_str(), rel_out, kBlockBound);
    EXPECT_LE(rel_out, kBlockBound) << what;

    // True-sequential: weights replaced inside the observer of the first
    // linear (its own, one later in the group, one in the MLP) are the ones
    // that run, on both engines alike.
    auto replace = [&](model::BlockWeights &b) {
      for (std::string_view n : {layout.q, layout.k, layout.down})
        for (float &v : b.linear(n).weight) v *= 0.5f;
    };
    model::BlockWeights w_cpu = w, w_gpu = w;
    auto replaced_cpu = cpu.copy(*input);
    const auto replaced_gpu = cuda.copy(*input);
    cpu.run_block(test_compute(), spec, w_cpu, *replaced_cpu, batch, seq, [&](std::string_view n, const Activations &) {
      if (n == layout.q) replace(w_cpu);
      return model::ObserverReply::kRunOn;
    });
    cuda.run_block(test_compute(), spec, w_gpu, *replaced_gpu, batch, seq, [&](std::string_view n, const Activations &) {
      if (n == layout.q) replace(w_gpu);
      return model::ObserverReply::kRunOn;
    });
    const std::vector<float> rc = rows_of(*replaced_cpu), rg = rows_of(*replaced_gpu);
    const double effect = relative_l2(rc, out_cpu), rel_replaced = relative_l2(rg, rc);
    std::printf("%s: weights replaced in the observer: output moved by %.3g on the CPU; GPU vs CPU %.3g\n",
                what.c_str(), effect, rel_replaced);
    EXPECT_LE(rel_replaced, kBlockBound) << what;
    EXPECT_GE(effect, 10 * rel_replaced) << what << ": the replacement must move the output far more than the "
                                                    "engines differ";
  }
}

TEST(CudaCalibration, LlamaBlocksMatchTheCpuEngine) {
  GPTQ_REQUIRE_GPU();
  compare_calibration_blocks("docs-llama-16m");
}

// Learned positions, LayerNorm with biases, ReLU, an ungated MLP, linear biases.
TEST(CudaCalibration, OptBlocksMatchTheCpuEngine) {
  GPTQ_REQUIRE_GPU();
  compare_calibration_blocks("docs-opt-15m");
}

double heldout_ppl(const std::filesystem::path &dir, const std::vector<std::int32_t> &ids) {
  const auto m = model::Model::open(dir);
  return eval::perplexity(test_pool(), test_forward_engine(), *test_prepare(*m), ids, eval::PerplexityOptions{512, 16})
      .ppl;
}

// GPTQ g128, true-sequential, 32 x 512 calibration tokens: the pipeline on
// the CUDA engines (calibration forward and Hessians on the device, the
// Hessians from the forward's fp16 inputs in one fp16 product) against the
// CPU's, each checkpoint evaluated on the CPU on both texts of the
// End-to-end protocol (16 x 512 tokens of each): at 4 bits within 0.5% of
// the CPU's, at 3 bits below RTN. (At 4 bits docs-llama-16m's GPTQ and RTN
// are within noise of each other on 32 x 512 calibration tokens: on
// docs_heldout the CPU pipeline's 14.780 against RTN's 14.758, so "below
// RTN" is asked where GPTQ's gain is clear.)
void expect_cuda_pipeline_matches_cpu(const std::filesystem::path &source, const std::filesystem::path &calib,
                                      const std::vector<std::filesystem::path> &texts) {
  const QuantizeEngine *gpu_quantizer = gpu().backend->quantize_engine();
  ASSERT_NE(gpu_quantizer, nullptr);
  const auto model = model::Model::open(source);
  const std::string name = source.filename().string();
  const nlohmann::json gptq = {{"bits", 4},
                               {"group_size", 128},
                               {"true_sequential", true},
                               {"calibration", {{"files", {calib.string()}}, {"nsamples", 32}, {"seqlen", 512}}}};
  const auto run = [&](const nlohmann::json &cfg, const QuantizeEngine &q, const ForwardEngine &f,
                       const std::string &tag) {
    const auto out = std::filesystem::temp_directory_path() /
                     ("gptq_cuda_calib_" + name + "_" + tag + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(out);
    const auto t0 = std::chrono::steady_clock::now();
    quant::quantize_model(*model, config::parse_quantize_config(cfg.dump()), out, {}, test_pool(), q, f, Progress(),
                          gpu().log);
    std::printf("%s quantized on %s in %.2f s\n", name.c_str(), tag.c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return out;
  };
  const std::size_t said = std::count_if(gpu().lines.begin(), gpu().lines.end(), [](const std::string &l) {
    return l.find("calibration forward on cuda (") != std::string::npos;
  });
  const auto on_gpu = run(gptq, *gpu_quantizer, *gpu().backend->forward_engine(), "cuda");
  const auto on_cpu = run(gptq, test_quantize_engine(), test_forward_engine(), "cpu");
  const auto rtn = run({{"bits", 4}, {"group_size", 128}, {"method", "rtn"}}, test_quantize_engine(),
                       test_forward_engine(), "rtn");
  nlohmann::json gptq3 = gptq;
  gptq3["bits"] = 3;
  const auto on_gpu3 = run(gptq3, *gpu_quantizer, *gpu().backend->forward_engine(), "cuda_w3");
  const auto rtn3 = run({{"bits", 3}, {"group_size", 128}, {"method", "rtn"}}, test_quantize_engine(),
                        test_forward_engine(), "rtn_w3");
  for (const auto &text : texts) {
    SCOPED_TRACE(name + " on " + text.filename().string());
    const std::vector<std::int32_t> ids = model->tokenizer()->encode(io::read_text_file(text, 64 << 20));
    const double p_gpu = heldout_ppl(on_gpu, ids), p_cpu = heldout_ppl(on_cpu, ids), p_rtn = heldout_ppl(rtn, ids),
                 p_float = heldout_ppl(source, ids), p_gpu3 = heldout_ppl(on_gpu3, ids),
                 p_rtn3 = heldout_ppl(rtn3, ids);
    std::printf("%s, %s perplexity (16 x 512, on the CPU): float %.4f; w4: GPTQ on cuda %.4f, GPTQ on cpu %.4f "
                "(cuda %+.3f%%), RTN %.4f; w3: GPTQ on cuda %.4f, RTN %.4f (GPTQ %+.2f%%)\n",
                name.c_str(), text.filename().c_str(), p_float, p_gpu, p_cpu, 100.0 * (p_gpu / p_cpu - 1.0), p_rtn,
                p_gpu3, p_rtn3, 100.0 * (p_gpu3 / p_rtn3 - 1.0));
    // The two pipelines' Hessians differ in rounding (the GPU's linear inputs
    // are fp16), so their GPTQ solutions differ as two CPU runs on other BLAS
    // kernels do (the README: -1.5% to +0.8% at 16 x 512); the bar is
    // quality: not worse than the CPU's by more than 0.5%, and better than RTN.
    EXPECT_LE(p_gpu / p_cpu, 1.005) << "GPTQ through the CUDA engines is worse than the CPU pipeline's";
    EXPECT_LT(p_gpu3, p_rtn3) << "GPTQ w3 through the CUDA engines is not better than RTN w3";
  }
  const std::size_t fp16_said = std::count_if(gpu().lines.begin(), gpu().lines.end(), [](const std::string &l) {
    return l.find("fp16 activations: one fp16 product each") != std::string::npos;
  });
  EXPECT_GE(fp16_said, 1u) << "the calibration forward's Hessians did not take the fp16 product";
  const std::size_t now = std::count_if(gpu().lines.begin(), gpu().lines.end(), [](const std::string &l) {
    return l.find("calibration forward on cuda (") != std::string::npos;
  });
  EXPECT_LE(now, 1u) << "said once per engine";
  EXPECT_TRUE(said == 1 || now == 1) << "the calibration forward did not say it runs on cuda";
  for (const auto &d : {on_gpu, on_cpu, rtn, on_gpu3, rtn3}) std::filesystem::remove_all(d);
}

TEST(CudaCalibration, GptqOnTheCudaEnginesMatchesTheCpuPipeline) {
  GPTQ_REQUIRE_GPU();
  GPTQ_REQUIRE_SHARED(source, "models/docs-llama-16m");
  GPTQ_REQUIRE_SHARED(calib, "data/docs_calib.txt");
  GPTQ_REQUIRE_SHARED(heldout, "data/docs_heldout.txt");
  GPTQ_REQUIRE_SHARED(wikitext, "data/wikitext2_test.txt");
  expect_cuda_pipeline_matches_cpu(source, calib, {heldout, wikitext});
}

TEST(CudaCalibration, OptGptqOnTheCudaEnginesMatchesTheCpuPipeline) {
  GPTQ_REQUIRE_GPU();
  GPTQ_REQUIRE_SHARED(source, "models/docs-opt-15m");
  GPTQ_REQUIRE_SHARED(calib, "data/docs_calib.txt");
  GPTQ_REQUIRE_SHARED(heldout, "data/docs_heldout.txt");
  GPTQ_REQUIRE_SHARED(wikitext, "data/wikitext2_test.txt");
  expect_cuda_pipeline_matches_cpu(source, calib, {heldout, wikitext});
}

// The files of a checkpoint directory, by name.
std::vector<std::pair<std::string, std::string>> checkpoint_files(const std::filesystem::path &dir) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto &e : std::filesystem::directory_iterator(dir)) {
    std::ifstream f(e.path(), std::ios::binary);
    files.emplace_back(e.path().filename(), std::string(std::istreambuf_iterator<char>(f), {}));
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Plugin table v5: a solve whose forward rows live on the device leaves its
// dequantized weights there (bit for bit the host's copy, same codes), and
// the pipeline that runs them from there writes, byte for byte, the
// checkpoint of the host round trip (GPTQ_DEQUANT_ON_DEVICE=0), true-
// sequential or not.
TEST(CudaCalibration, DeviceResidentDequantWritesTheCheckpointOfTheHostRoundTrip) {
  GPTQ_REQUIRE_GPU();
  GPTQ_REQUIRE_SHARED(source, "models/docs-llama-16m");
  GPTQ_REQUIRE_SHARED(calib, "data/docs_calib.txt");
  const QuantizeEngine *held_q = gpu().backend->quantize_engine();
  ASSERT_NE(held_q, nullptr);
  ::setenv("GPTQ_DEQUANT_ON_DEVICE", "0", 1);
  const std::unique_ptr<Backend> forced = open_cuda_backend(0, gpu().log);
  ::unsetenv("GPTQ_DEQUANT_ON_DEVICE");
  const auto model = model::Model::open(source);
  const model::ModelSpec &spec = model->spec();

  // One solve both ways, the rows on the device.
  {
    const ForwardEngine &cuda = *gpu().backend->forward_engine();
    std::vector<std::int32_t> ids(4 * 128);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>((i * 7919) % 1000 + 10);
    const model::GlobalWeights globals = model::load_global_weights(spec, model->weights());
    const auto hidden = cuda.embed(test_compute(), spec, globals, ids, 4, 128);
    auto h = held_q->new_hessian(spec.hidden_size, false);
    held_q->accumulate(test_compute(), *h, *hidden, 4);
    held_q->finish(test_compute(), *h);
    const model::BlockWeights w = model::load_block_weights(spec, model->weights(), 0);
    const model::LinearWeights &q = w.linear(spec.arch->block_layout.q);
    quant::QuantOptions opt;
    for (const bool act_order : {false, true}) {
      opt.desc_act = act_order;
      const quant::QuantResult host =
          held_q->solve(test_compute(), q.weight.data(), q.out_features, q.in_features, *h, opt, "q", nullptr);
      const quant::QuantResult kept =
          held_q->solve(test_compute(), q.weight.data(), q.out_features, q.in_features, *h, opt, "q", hidden.get());
      ASSERT_TRUE(kept.held_dequant) << "rows on the device: the result stays there";
      EXPECT_TRUE(kept.dequant.empty());
      ASSERT_FALSE(host.held_dequant);
      std::vector<float> back(host.dequant.size());
      kept.held_dequant->read(back.data());
      EXPECT_EQ(0, std::memcmp(back.data(), host.dequant.data(), back.size() * sizeof(float)))
          << "act-order " << act_order;
      EXPECT_EQ(kept.codes, host.codes);
      EXPECT_EQ(kept.scales, host.scales);
      EXPECT_GT(kept.factor_seconds, 0.0);
      std::printf("q_proj solve (act-order %d): factor %.2f ms, loss %.6g both ways\n", act_order ? 1 : 0,
                  1e3 * kept.factor_seconds, kept.loss);
      EXPECT_EQ(kept.loss, host.loss);
    }
  }

  for (const bool sequential : {true, false}) {
    const nlohmann::json cfg = {{"bits", 4},
                                {"group_size", 128},
                                {"true_sequential", sequential},
                                {"calibration", {{"files", {calib.string()}}, {"nsamples", 8}, {"seqlen", 256}}}};
    const auto run = [&](const Backend &b, const std::string &tag) {
      const auto out = std::filesystem::temp_directory_path() /
                       ("gptq_cuda_held_" + tag + "_" + std::to_string(::getpid()));
      std::filesystem::remove_all(out);
      const auto t0 = std::chrono::steady_clock::now();
      const auto report = quant::quantize_model(*model, config::parse_quantize_config(cfg.dump()), out, {},
                                                test_pool(), *b.quantize_engine(), *b.forward_engine(), Progress(),
                                                gpu().log);
      std::printf("true-sequential %d, dequant %s: %.2f s (factor %.3f s, solve %.3f s)\n", sequential ? 1 : 0,
                  tag.c_str(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                  report.phases->factor, report.phases->solve);
      EXPECT_GT(report.phases->factor, 0.0);
      EXPECT_EQ(report.forward_backend, "cuda");
      auto files = checkpoint_files(out);
      std::filesystem::remove_all(out);
      return files;
    };
    const auto on_device = run(*gpu().backend, "on-device");
    const auto on_host = run(*forced, "on-host");
    ASSERT_FALSE(on_device.empty());
    EXPECT_TRUE(on_device == on_host) << "true-sequential " << sequential
                                      << ": the device-resident path wrote another checkpoint";
  }
}

// Issue 16: the calibration rows in chunks of windows, parked in host
// memory between blocks (GPTQ_CALIBRATION_CHUNK_WINDOWS forces what a small
// device would make the pipeline do, core/pipeline/calibration_chunks.h), on
// the CUDA engines, against the same run with every row on the device at
// once: 8 x 256 tokens in chunks of 2 and of 3 (3 + 3 + 2) windows,
// true-sequential and not. Chunks change no math; two roundings may change
// (tests/core/pipeline/quantize_model_chunked_test.cpp: on the CPU, fp32
// Hessians summed per chunk alone left ~10% of this small model's codes
// different, as another BLAS kernel does), so the Hessians accumulate in
// fp64 here, and whether the forward rounds alike is measured first: each
// chunk's block-0 output against those rows of the run over all 8 windows
// (cuBLAS may pick another kernel for fewer rows). Where it is bit for bit,
// the CPU test's agreement is asked: codes >= 99.9% equal, each layer's loss
// within 1e-3 relative, perplexity (16 x 512 of docs_heldout, on the CPU)
// within 0.1%; where it is not, the figures are printed and the perplexity
// must stay within gptq_perplexity_test's rounding band (3.5%). Always: the
// run's device peak (the report's peak_device_bytes) below the one without
// chunks, and the log saying that peak.
TEST(CudaCalibration, ChunkedCalibrationRowsQuantizeAsAllAtOnce) {
  GPTQ_REQUIRE_GPU();
  GPTQ_REQUIRE_SHARED(source, "models/docs-llama-16m");
  GPTQ_REQUIRE_SHARED(calib, "data/docs_calib.txt");
  GPTQ_REQUIRE_SHARED(heldout, "data/docs_heldout.txt");
  const auto model = model::Model::open(source);
  const model::ModelSpec &spec = model->spec();
  const std::vector<std::int32_t> ids = model->tokenizer()->encode(io::read_text_file(heldout, 64 << 20));
  const QuantizeEngine &q = *gpu().backend->quantize_engine();
  const ForwardEngine &f = *gpu().backend->forward_engine();
  constexpr std::int64_t kWindows = 8, kSeq = 256;
  ASSERT_GE(ids.size(), static_cast<std::size_t>(kWindows * kSeq));

  // Block 0 over all windows, and chunk by chunk: do the chunks' rows come
  // out bit for bit?
  std::map<int, bool> same_forward;
  {
    const model::GlobalWeights globals = model::load_global_weights(spec, model->weights());
    const model::BlockWeights w = model::load_block_weights(spec, model->weights(), 0);
    const std::span<const std::int32_t> all_ids(ids.data(), static_cast<std::size_t>(kWindows * kSeq));
    auto all = f.embed(test_compute(), spec, globals, all_ids, kWindows, kSeq);
    f.run_block(test_compute(), spec, w, *all, kWindows, kSeq, {});
    const std::vector<float> whole = rows_of(*all);
    for (const int chunk : {2, 3}) {
      std::size_t differing = 0;
      double worst = 0;
      for (std::int64_t first = 0; first < kWindows; first += chunk) {
        const std::int64_t n = std::min<std::int64_t>(chunk, kWindows - first);
        auto part = f.embed(test_compute(), spec, globals,
                            all_ids.subspan(static_cast<std::size_t>(first * kSeq), static_cast<std::size_t>(n * kSeq)),
                            n, kSeq);
        f.run_block(test_compute(), spec, w, *part, n, kSeq, {});
        const std::vector<float> rows = rows_of(*part);
        const std::size_t offset = static_cast<std::size_t>(first * kSeq * spec.hidden_size);
        for (std::size_t i = 0; i < rows.size(); ++i) {
          if (rows[i] == whole[offset + i]) continue;
          ++differing;
          worst = std::max(worst, static_cast<double>(std::abs(rows[i] - whole[offset + i])));
        }
      }
      same_forward[chunk] = differing == 0;
      std::printf("block 0 in chunks of %d windows: %zu of %zu output values differ from the run over all %lld "
                  "(largest difference %.3g)\n",
                  chunk, differing, whole.size(), static_cast<long long>(kWindows), worst);
    }
  }

  quant::QuantizeModelOptions options;
  options.device = gpu().backend.get();
  for (const bool sequential : {true, false}) {
    const nlohmann::json cfg = {
        {"bits", 4},
        {"group_size", 128},
        {"true_sequential", sequential},
        {"hessian_fp64", true},
        {"calibration", {{"files", {calib.string()}}, {"nsamples", kWindows}, {"seqlen", kSeq}}}};
    struct Out {
      std::filesystem::path dir;
      schema::QuantizeReportT report;
    };
    const auto run = [&](int chunk_windows) {
      const std::string tag = std::to_string(sequential ? 1 : 0) + "_" + std::to_string(chunk_windows);
      Out out{std::filesystem::temp_directory_path() / ("gptq_cuda_chunks_" + tag + "_" + std::to_string(::getpid())),
              {}};
      std::filesystem::remove_all(out.dir);
      if (chunk_windows > 0) ::setenv("GPTQ_CALIBRATION_CHUNK_WINDOWS", std::to_string(chunk_windows).c_str(), 1);
      const auto t0 = std::chrono::steady_clock::now();
      try {
        out.report = quant::quantize_model(*model, config::parse_quantize_config(cfg.dump()), out.dir, options,
                                           test_pool(), q, f, Progress(), gpu().log);
      } catch (...) {
        ::unsetenv("GPTQ_CALIBRATION_CHUNK_WINDOWS");
        throw;
      }
      ::unsetenv("GPTQ_CALIBRATION_CHUNK_WINDOWS");
      std::printf("true-sequential %d, chunks of %d windows (0: all at once): %.2f s, peak_device_bytes %llu\n",
                  sequential ? 1 : 0, chunk_windows,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                  static_cast<unsigned long long>(out.report.peak_device_bytes));
      EXPECT_EQ(out.report.forward_backend, "cuda");
      return out;
    };
    const auto peak_lines = [] {
      return std::count_if(gpu().lines.begin(), gpu().lines.end(), [](const std::string &l) {
        return l.find("quantize: peak device memory ") != std::string::npos &&
               l.find("parked in page-locked host memory") != std::string::npos;
      });
    };
    const Out whole = run(0);
    const double p_whole = heldout_ppl(whole.dir, ids);
    for (const int chunk : {2, 3}) {
      const auto lines_before = peak_lines();
      const Out chunked = run(chunk);
      const std::string what = std::string(sequential ? "true-sequential" : "all groups at once") + ", chunks of " +
                               std::to_string(chunk);
      const double share = testing::equal_code_share(chunked.dir, whole.dir);
      const double worst = testing::worst_relative_loss_difference(chunked.report, whole.report);
      const double p_chunked = heldout_ppl(chunked.dir, ids);
      std::printf("%s: %.5f%% of the codes equal, worst layer loss %.3g relative, perplexity %.5f vs %.5f (%+.4f%%)%s\n",
                  what.c_str(), 100.0 * share, worst, p_chunked, p_whole, 100.0 * (p_chunked / p_whole - 1.0),
                  same_forward[chunk] ? "" : " (the chunks' forward rounds otherwise: rounding band only)");
      if (same_forward[chunk]) {
        EXPECT_GE(share, 0.999) << what;
        EXPECT_LE(worst, 1e-3) << what;
        EXPECT_NEAR(p_chunked / p_whole, 1.0, 1e-3) << what;
      } else {
        EXPECT_NEAR(p_chunked / p_whole, 1.0, 0.035) << what;
      }
      EXPECT_LT(chunked.report.peak_device_bytes, whole.report.peak_device_bytes) << what;
      EXPECT_GT(chunked.report.peak_device_bytes, 0u) << what;
      EXPECT_EQ(peak_lines(), lines_before + 1) << what << ": the chunked run logs its peak, its rows pinned";
      std::filesystem::remove_all(chunked.dir);
    }
    std::filesystem::remove_all(whole.dir);
  }
}

// A block run stopped by its observer (by an error, or because it needs
// nothing more), or cancelled, in the middle of the block: the observer's
// error, Cancelled, or a normal return, and the device's free memory as
// before the run; the device runs the block afterwards.
TEST(CudaCalibration, AStoppedOrCancelledBlockLeavesTheDeviceAsItWas) {
  GPTQ_REQUIRE_GPU();
  GPTQ_REQUIRE_SHARED(source, "models/docs-llama-16m");
  const auto model = model::Model::open(source);
  const model::ModelSpec &spec = model->spec();
  const ForwardEngine &cuda = *gpu().backend->forward_engine();
  const model::GlobalWeights globals = model::load_global_weights(spec, model->weights());
  std::vector<std::int32_t> ids(8 * 128);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>((i * 7919) % 1000 + 10);
  auto hidden = cuda.embed(test_compute(), spec, globals, ids, 8, 128);
  const model::BlockWeights w = model::load_block_weights(spec, model->weights(), 0);
  const auto free_bytes = [] { return gpu().backend->memory()->free; };
  cuda.run_block(test_compute(), spec, w, *hidden, 8, 128, [](std::string_view, const Activations &) {
    return model::ObserverReply::kRunOn;
  });
  const std::uint64_t before = free_bytes();
  std::uint64_t after_first = 0;
  const std::string down(spec.arch->block_layout.down);
  for (int pass = 0; pass < 2; ++pass) {
    try {
      cuda.run_block(test_compute(), spec, w, *hidden, 8, 128, [&](std::string_view n, const Activations &) {
        if (n == down) fail(Status::Numerical, "stopped by the test at " + std::string(n));
        return model::ObserverReply::kRunOn;
      });
      ADD_FAILURE() << "the observer's error was lost";
    } catch (const Error &e) {
      EXPECT_EQ(e.status(), Status::Numerical) << e.what();
      EXPECT_EQ(std::string(e.what()), "stopped by the test at " + down);
    }
    bool stop = false;
    const Progress progress([&](std::string_view, std::uint64_t, std::uint64_t) { return !stop; });
    ProgressMeter meter(progress, "quantize", 10);
    const Compute cancellable(test_pool(), &meter);
    try {
      cuda.run_block(cancellable, spec, w, *hidden, 8, 128, [&](std::string_view n, const Activations &) {
        if (n != spec.arch->block_layout.o) return model::ObserverReply::kRunOn;
        stop = true;
        std::this_thread::sleep_for(ProgressMeter::kInterval * 2);  // the meter asks the callback again
        return model::ObserverReply::kRunOn;
      });
      ADD_FAILURE() << "the run was not cancelled";
    } catch (const Error &e) {
      EXPECT_EQ(e.status(), Status::Cancelled) << e.what();
    }
    // Ended by the observer, which needs nothing more (plugin table v8): no
    // error, nothing after the gate shown.
    std::vector<std::string> shown;
    cuda.run_block(test_compute(), spec, w, *hidden, 8, 128, [&](std::string_view n, const Activations &) {
      shown.emplace_back(n);
      return n == spec.arch->block_layout.gate ? model::ObserverReply::kStop : model::ObserverReply::kRunOn;
    });
    EXPECT_EQ(shown.size(), 5u) << "q, k, v, o, gate";
    // The first pass also loads what the failure paths load once; the
    // second must end where the first did.
    const std::uint64_t after = free_bytes();
    std::printf("pass %d: device free memory %llu bytes after a whole run, %llu after the stopped and the cancelled "
                "run\n",
                pass, static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
    if (pass == 1) {
      EXPECT_EQ(after, after_first) << "device memory left behind by the stopped or cancelled run";
    }
    after_first = after;
  }
  // Still usable: a whole run (the hidden state is undefined after a failed one).
  auto fresh = cuda.embed(test_compute(), spec, globals, ids, 8, 128);
  cuda.run_block(test_compute(), spec, w, *fresh, 8, 128, {});
  EXPECT_EQ(rows_of(*fresh).size(), static_cast<std::size_t>(8 * 128 * spec.hidden_size));
}

}  // namespace
}  // namespace gptq
