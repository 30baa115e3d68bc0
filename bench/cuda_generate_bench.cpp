// End-to-end speed of the CUDA forward engine (issue 15) on a whole model,
// fed token ids directly (no tokenizer, no sampling, no C API session):
//   prefill: a --prefill-token prompt (2048) at batch 1 into an empty KV
//            cache, last row's logits, median of --reps runs after warm-up;
//   decode:  batch 1 after --contexts tokens of context (128, 2048): greedy
//            (argmax of the last logits fed back), --steps steps (64) after
//            warm-up, median step time; every step brings its logits to the
//            host and takes the argmax there;
//   decode_by_engine: the same (and the batches below), each step's tokens
//            chosen where the engine chooses them (run_and_sample, greedy:
//            on CUDA inside the captured step, one id a sequence back), as
//            generation does; with each row the once-a-call costs: the cache
//            made, the first step (which captures the decode graph) and the
//            cache freed;
//   batched: --batches sequences (16, 64) decoding together over one cache
//            of that batch after --batch-context tokens each (the engine's
//            batched run);
//   generate_batch: the same batches through eval::generate_batch, the body
//            of the C API's gptq_generate_batch: prompts of random ids
//            decoded to text and tokenized again (so of slightly different
//            lengths, about --batch-context tokens: a ragged batch), --steps
//            tokens each, greedy and top-p 0.9 at temperature 0.8 (seeded),
//            each token chosen where the engine chooses it (the CUDA
//            engine: on the device, one id a sequence back) and, on CUDA,
//            again with GPTQ_GPU_SAMPLING=0 (every row of logits to the host
//            and the host sampler), the KV cache made and its decode graph
//            captured inside the call, as a session's call does; the time to
//            the first token (the ragged prefill) and the decode rate after
//            it (needs the model's tokenizer; left out, saying so, without
//            one);
//   memory:  the device's free memory before and after prepare and after
//            each cache, against the theory: the weights as the runtime
//            holds them (the int4/int8 kernels' repacked layout, see
//            weight_theory below) and the KV cache's formula.
// Token ids are random (seeded), uniform over the vocabulary past the
// special tokens: the weights of a benchmark model are random too
// (bench/make_random_llama.py), so no text is more telling.
//
// Writes the measurements as JSON for bench/run_cuda_e2e_bench.py, which adds
// the transformers baseline and writes BENCH.md's result file. Without a
// usable GPU it prints why and exits 77 (skipped), writing nothing.
// --backend cpu runs the same measurements on the CPU engine (no memory
// figures: the CPU backend reports none): how the bench itself is checked
// on a machine without a GPU, on a small model.
//
// Usage: cuda_generate_bench MODEL_DIR OUT.json [--prefill N] [--contexts A,B]
//          [--steps N] [--batches A,B] [--batch-context N] [--reps N]
//          [--backend cuda|cpu] [--threads N]
// $GPTQ_CUDA_PLUGIN names the plugin (libgptq-cuda.so) when it is not found
// beside the library.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_record.h"
#include "core/backend/backend_loader.h"
#include "core/backend/cpu_backend.h"
#include "core/backend/forward_engine.h"
#include "core/base/error.h"
#include "core/eval/generate.h"
#include "core/model/model.h"

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr int kSkipped = 77;  // ctest's and automake's "skipped"
constexpr int kWarmup = 3;

struct Options {
  fs::path model, out;
  std::int64_t prefill = 2048;
  std::vector<std::int64_t> contexts{128, 2048};
  std::int64_t steps = 64;
  std::vector<std::int64_t> batches{16, 64};
  std::int64_t batch_context = 128;
  int reps = 10;
  std::string backend = "cuda";
  int threads = 0;  // 0: every hardware thread
};

[[noreturn]] void usage(const std::string &why) {
  std::fprintf(stderr,
               "cuda_generate_bench: %s\nusage: cuda_generate_bench MODEL_DIR OUT.json [--prefill N] "
               "[--contexts A,B] [--steps N] [--batches A,B] [--batch-context N] [--reps N] [--backend cuda|cpu] [--threads N]\n",
               why.c_str());
  std::exit(2);
}

std::int64_t positive(const std::string &flag, const std::string &v) {
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception &) {
    used = 0;
  }
  if (used != v.size() || n <= 0) usage(flag + " takes a positive integer, not '" + v + "'");
  return n;
}

std::vector<std::int64_t> positive_list(const std::string &flag, const std::string &v) {
  std::vector<std::int64_t> out;
  std::size_t start = 0;
  while (start <= v.size()) {
    const std::size_t comma = std::min(v.find(',', start), v.size());
    out.push_back(positive(flag, v.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

Options parse(int argc, char **argv) {
  Options o;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--prefill") o.prefill = positive(a, value());
    else if (a == "--contexts") o.contexts = positive_list(a, value());
    else if (a == "--steps") o.steps = positive(a, value());
    else if (a == "--batches") o.batches = positive_list(a, value());
    else if (a == "--batch-context") o.batch_context = positive(a, value());
    else if (a == "--reps") o.reps = static_cast<int>(positive(a, value()));
    else if (a == "--threads") o.threads = static_cast<int>(positive(a, value()));
    else if (a == "--backend") {
      o.backend = value();
      if (o.backend != "cuda" && o.backend != "cpu") usage("--backend is cuda or cpu, not '" + o.backend + "'");
    }
    else if (a.rfind("--", 0) == 0) usage("unknown option " + a);
    else pos.push_back(a);
  }
  if (pos.size() != 2) usage("give MODEL_DIR and OUT.json");
  o.model = pos[0];
  o.out = pos[1];
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Bytes of a linear as the CUDA runtime holds it (cuda/runtime/make_linear.cpp):
// 4 and 8 bits repacked for the kernels (cuda/kernels/gptq_repack.h: codes in
// 16-row tiles of K padded to whole 64-column tiles, each group starting on a
// multiple of 16; fp16 scales per row and group; fp16 zeros unless symmetric;
// one int32 group index per 16 columns; an int32 column permutation when the
// order is not the identity — act-order), 2 and 3 bits and float layers as
// fp16 weights. No bias (the Llama shape has none).
json linear_theory(std::int64_t n, std::int64_t k, const std::optional<gptq::model::GptqQuantizationConfig> &q) {
  if (!q || (q->bits != 4 && q->bits != 8)) return {{"codes", 2 * n * k}};
  const std::int64_t gs = q->group_size < 0 ? k : q->group_size;
  const std::int64_t groups = (k + gs - 1) / gs;
  std::int64_t k_pad = 0;
  for (std::int64_t g = 0; g < groups; ++g) {
    if (g > 0) k_pad = (k_pad + 15) / 16 * 16;
    k_pad += std::min(gs, k - g * gs);
  }
  k_pad = (k_pad + 63) / 64 * 64;
  const std::int64_t n_pad = (n + 15) / 16 * 16;
  const bool permuted = q->desc_act || k_pad != k;
  return {{"codes", n_pad * k_pad * q->bits / 8},
          {"scales", n_pad * groups * 2},
          {"zeros", q->sym ? 0 : n_pad * groups * 2},
          {"chunk_group", k_pad / 16 * 4},
          {"perm", permuted ? k_pad * 4 : 0}};
}

// The whole model's weights on the device: the block linears, fp16
// embeddings and lm_head (one table when tied), fp32 norm weights.
json weight_theory(const gptq::model::ModelSpec &s) {
  const std::int64_t h = s.hidden_size, q = s.num_heads * s.head_dim, kv = s.num_kv_heads * s.head_dim,
                     inter = s.intermediate_size;
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{q, h},     {kv, h},    {kv, h},   {h, q},
                                                                    {inter, h}, {inter, h}, {h, inter}};
  json block = json::object();
  for (const auto &[n, k] : shapes) {
    const json linear = linear_theory(n, k, s.quantization);
    for (const auto &[part, bytes] : linear.items()) {
      const std::int64_t sum = block.value(part, std::int64_t{0}) + bytes.get<std::int64_t>();
      block[part] = sum;
    }
  }
  std::int64_t linears = 0;
  for (const auto &[part, bytes] : block.items()) linears += bytes.get<std::int64_t>() * s.num_layers;
  const std::int64_t embed = 2 * s.vocab_size * h, lm_head = s.tie_word_embeddings ? 0 : 2 * s.vocab_size * h;
  const std::int64_t norms = 4 * h * (2 * s.num_layers + 1);
  return {{"block_linears_per_layer", block},
          {"block_linears", linears},
          {"embed_tokens", embed},
          {"lm_head", lm_head},
          {"norms", norms},
          {"total", linears + embed + lm_head + norms}};
}

// Keys and values, fp16, every layer (cuda/runtime/device_model.h's DeviceCache).
std::int64_t cache_theory(const gptq::model::ModelSpec &s, std::int64_t batch, std::int64_t capacity) {
  return 2 * s.num_layers * batch * s.num_kv_heads * capacity * s.head_dim * 2;
}

class Bench {
 public:
  Bench(const gptq::Backend &backend, const gptq::model::Model &model, std::shared_ptr<const gptq::PreparedModel> p,
        const gptq::Compute &compute)
      : backend_(backend), engine_(*backend.forward_engine()), spec_(model.spec()), prepared_(std::move(p)),
        compute_(compute) {}

  // `n` random ids past the special tokens.
  std::vector<std::int32_t> random_ids(std::int64_t n) {
    std::uniform_int_distribution<std::int32_t> pick(3, static_cast<std::int32_t>(spec_.vocab_size - 1));
    std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
    for (auto &id : ids) id = pick(rng_);
    return ids;
  }

  // Bytes of device memory taken between two readings of the free memory;
  // null for a backend that reports none (the CPU).
  std::optional<std::uint64_t> free_bytes() const {
    const auto m = backend_.memory();
    return m ? std::optional(m->free) : std::nullopt;
  }
  static json taken(std::optional<std::uint64_t> before, std::optional<std::uint64_t> after) {
    if (!before || !after) return nullptr;
    return static_cast<std::int64_t>(*before) - static_cast<std::int64_t>(*after);
  }

  json prefill(std::int64_t tokens, int reps) {
    const std::vector<std::int32_t> ids = random_ids(tokens);
    std::vector<double> times;
    for (int i = 0; i < kWarmup + reps; ++i) {
      const auto cache = engine_.make_cache(*prepared_, 1, tokens);
      const auto t0 = Clock::now();
      engine_.run(compute_, *prepared_, ids, 1, tokens, cache.get(), true);
      if (i >= kWarmup) times.push_back(seconds_since(t0));
    }
    const double m = median(times);
    std::printf("prefill %lld tokens, batch 1: %.2f ms, %.0f tok/s\n", static_cast<long long>(tokens), m * 1e3,
                static_cast<double>(tokens) / m);
    return {{"batch", 1}, {"tokens", tokens}, {"reps", reps}, {"median_s", m},
            {"tok_s", static_cast<double>(tokens) / m}, {"times_s", times}};
  }

  // Greedy decode of `batch` sequences after `context` tokens each. With
  // `by_engine` each step's tokens are chosen where the engine chooses them
  // (run_and_sample: on CUDA on the device, inside the captured step, one id
  // a sequence back, as gptq_generate does), else every row of logits comes
  // to the host and its argmax is taken there. The cache's memory is
  // recorded once, by the host-choice run.
  json decode(std::int64_t batch, std::int64_t context, std::int64_t steps, json &memory, bool by_engine) {
    const std::int64_t capacity = context + kWarmup + steps;
    const auto before = free_bytes();
    const auto t_cache = Clock::now();
    auto cache = engine_.make_cache(*prepared_, batch, capacity);
    const double make_cache_s = seconds_since(t_cache);
    if (!by_engine)
      memory["caches"].push_back({{"batch", batch},
                                  {"capacity", capacity},
                                  {"measured", taken(before, free_bytes())},
                                  {"theory", cache_theory(spec_, batch, capacity)}});
    const std::vector<std::int32_t> prompt = random_ids(batch * context);
    const auto t_prompt = Clock::now();
    gptq::Matrix logits = engine_.run(compute_, *prepared_, prompt, batch, context, cache.get(), true);
    const double prompt_s = seconds_since(t_prompt);
    std::vector<std::int32_t> next(static_cast<std::size_t>(batch));
    auto argmax = [&](std::int64_t b) {
      const float *row = logits.row(b);
      return static_cast<std::int32_t>(std::max_element(row, row + spec_.vocab_size) - row);
    };
    for (std::int64_t b = 0; b < batch; ++b) next[static_cast<std::size_t>(b)] = argmax(b);
    // The engine's step: greedy, every sequence wanting a token.
    const std::vector<std::uint8_t> active(static_cast<std::size_t>(batch), 1);
    const std::vector<double> uniforms(static_cast<std::size_t>(batch), 0.0);
    const std::vector<std::int64_t> counts(static_cast<std::size_t>(batch), 1);
    gptq::SampleStep step;
    step.temperature = 0;
    step.active = active;
    step.uniforms = uniforms;
    std::vector<double> times;
    double first_step_s = 0;  // the first decode step, which captures the cache's decode graph
    std::vector<std::int32_t> first_tokens;
    std::int64_t left_to_host = 0;
    for (std::int64_t i = 0; i < kWarmup + steps; ++i) {
      if (static_cast<std::int64_t>(first_tokens.size()) < 16) first_tokens.push_back(next[0]);
      const auto t0 = Clock::now();
      if (by_engine) {
        const std::vector<std::int32_t> chosen =
            engine_.run_and_sample(compute_, *prepared_, next, batch, 1, cache.get(), counts, step, logits);
        for (std::int64_t b = 0; b < batch; ++b) {
          const std::int32_t t = chosen[static_cast<std::size_t>(b)];
          left_to_host += t == gptq::kTokenOnHost;
          next[static_cast<std::size_t>(b)] = t == gptq::kTokenOnHost ? argmax(b) : t;
        }
      } else {
        logits = engine_.run(compute_, *prepared_, next, batch, 1, cache.get(), true);
        for (std::int64_t b = 0; b < batch; ++b) next[static_cast<std::size_t>(b)] = argmax(b);
      }
      if (i == 0) first_step_s = seconds_since(t0);
      if (i >= kWarmup) times.push_back(seconds_since(t0));
    }
    // What a call pays once besides its steps: the cache made, the first
    // step's capture, the cache freed (its graph, sampler and memory).
    const auto t_free = Clock::now();
    cache.reset();
    const double free_cache_s = seconds_since(t_free);
    if (!by_engine)
      for (const float v : logits.data)
        if (!std::isfinite(v))
          throw std::runtime_error("decode batch " + std::to_string(batch) + ": non-finite logits");
    const double m = median(times);
    const char *choice = by_engine ? "engine (run_and_sample, greedy)" : "host (every row of logits to the host)";
    std::printf("decode batch %lld after %lld tokens, chosen by the %s: %.3f ms per step, %.1f tok/s\n",
                static_cast<long long>(batch), static_cast<long long>(context), choice, m * 1e3,
                static_cast<double>(batch) / m);
    return {{"batch", batch},
            {"context", context},
            {"steps", steps},
            {"choice", choice},
            {"left_to_host", left_to_host},
            {"prompt_s", prompt_s},
            {"make_cache_s", make_cache_s},
            {"first_step_s", first_step_s},
            {"free_cache_s", free_cache_s},
            {"median_step_s", m},
            {"tok_s", static_cast<double>(batch) / m},
            {"step_times_s", times},
            {"greedy_tokens_seq0", first_tokens}};
  }

  // eval::generate_batch (gptq_generate_batch's body) on `batch` prompts of
  // about `context` tokens, `steps` tokens each, greedy or top-p 0.9 at
  // temperature 0.8; with on_host, GPTQ_GPU_SAMPLING=0 (cuda/env_switch.h,
  // read at each run) makes the CUDA engine bring every row of logits to the
  // host for the host sampler; one warm-up call.
  json generate_batch(gptq::ThreadPool &pool, const gptq::tokenizer::Tokenizer &tok, std::int64_t batch,
                      std::int64_t context, std::int64_t steps, bool top_p, bool on_host) {
    std::vector<std::string> texts;
    for (std::int64_t b = 0; b < batch; ++b) texts.push_back(tok.decode(random_ids(context), true));
    const std::vector<std::string_view> prompts(texts.begin(), texts.end());
    gptq::schema::GenerationConfigT config;
    config.max_new_tokens = static_cast<std::int32_t>(steps);
    config.temperature = top_p ? 0.8f : 0.0f;
    config.top_p = top_p ? 0.9f : 1.0f;
    config.seed = 1;
    config.stop_at_eos = false;
    const char *sampling = top_p ? "top_p 0.9, temperature 0.8" : "greedy";
    const char *choice = on_host ? "host (GPTQ_GPU_SAMPLING=0)" : "engine";
    struct HostChoice {  // the switch set for this call only
      explicit HostChoice(bool on) : on_(on) {
        if (on_) ::setenv("GPTQ_GPU_SAMPLING", "0", 1);
      }
      ~HostChoice() {
        if (on_) ::unsetenv("GPTQ_GPU_SAMPLING");
      }
      bool on_;
    } const switched(on_host);
    std::vector<std::int64_t> prompt_tokens;
    double total_s = 0, first_s = 0;
    std::int64_t generated = 0;
    for (int i = 0; i < 2; ++i) {
      const auto t0 = Clock::now();
      std::optional<double> first;
      const auto results = gptq::eval::generate_batch(
          pool, engine_, *prepared_, tok, prompts, config, [&](std::size_t, std::string_view, std::int32_t) {
            if (!first) first = seconds_since(t0);
            return true;
          });
      total_s = seconds_since(t0);
      first_s = first.value_or(total_s);
      generated = 0;
      prompt_tokens.clear();
      for (const auto &r : results) {
        generated += static_cast<std::int64_t>(r.tokens.size());
        prompt_tokens.push_back(static_cast<std::int64_t>(r.prompt_ids.size()));
      }
    }
    // After the first token of every sequence: one decode step per token.
    const double decode_tok_s = static_cast<double>(generated - batch) / (total_s - first_s);
    std::printf("generate_batch of %lld prompts (%lld..%lld tokens), %lld tokens each, %s, chosen by the %s: first "
                "token after %.1f ms, then %.1f tok/s\n",
                static_cast<long long>(batch),
                static_cast<long long>(*std::min_element(prompt_tokens.begin(), prompt_tokens.end())),
                static_cast<long long>(*std::max_element(prompt_tokens.begin(), prompt_tokens.end())),
                static_cast<long long>(steps), sampling, choice, first_s * 1e3, decode_tok_s);
    return {{"batch", batch},
            {"sampling", sampling},
            {"choice", choice},
            {"context", context},
            {"prompt_tokens", prompt_tokens},
            {"steps", steps},
            {"generated", generated},
            {"total_s", total_s},
            {"first_token_s", first_s},
            {"decode_tok_s", decode_tok_s}};
  }

 private:
  const gptq::Backend &backend_;
  const gptq::ForwardEngine &engine_;
  const gptq::model::ModelSpec &spec_;
  std::shared_ptr<const gptq::PreparedModel> prepared_;
  const gptq::Compute &compute_;
  std::mt19937 rng_{20261130};
};

}  // namespace

int main(int argc, char **argv) try {
  const Options o = parse(argc, argv);
  // The model and the lengths first: a bad input fails before a GPU is looked for.
  const auto model = gptq::model::Model::open(o.model);
  const gptq::model::ModelSpec &spec = model->spec();
  const std::int64_t longest = std::max(o.prefill, *std::max_element(o.contexts.begin(), o.contexts.end()) +
                                                       kWarmup + o.steps);
  if (longest > spec.max_position_embeddings)
    usage("the longest sequence (" + std::to_string(longest) + " positions) passes the model's " +
          std::to_string(spec.max_position_embeddings));
  // The host threads (prepare reads and repacks on them; the CPU backend
  // computes on them).
  const int threads =
      o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Info lines kept: prepare's says where the load's time went (read and
  // unpack, the plugin's repack and upload, on how many threads), and goes
  // into the JSON beside prepare_s. Warnings and errors print as they come.
  gptq::Logger log(gptq::LogLevel::Info);
  std::vector<std::string> prepare_log;
  std::mutex log_mutex;
  log.set_sink([&](gptq::LogLevel level, const std::string &m) {
    const std::lock_guard<std::mutex> lock(log_mutex);
    if (level == gptq::LogLevel::Info) {
      prepare_log.push_back(m);
    } else {
      std::fprintf(stderr, "%s\n", m.c_str());
    }
  });
  std::unique_ptr<gptq::Backend> backend;
  if (o.backend == "cpu") {
    backend = std::make_unique<gptq::CpuBackend>(threads);
  } else {
    try {
      backend = gptq::open_cuda_backend(0, log);
    } catch (const gptq::Error &e) {
      std::printf("cuda_generate_bench: skipped: no usable GPU: %s\n", e.what());
      return kSkipped;
    }
    if (!backend->memory()) throw std::runtime_error("the CUDA backend does not report its memory");
  }
  if (!backend->forward_engine()) throw std::runtime_error("the " + o.backend + " backend has no forward engine");
  gptq::ThreadPool pool(threads);
  const gptq::Compute compute(pool);
  const std::string device = backend->device_name();
  std::printf("%s, %s\n", device.c_str(), o.model.c_str());

  const auto free_now = [&]() -> json {
    if (const auto m = backend->memory()) return m->free;
    return nullptr;
  };
  json memory = {{"total", backend->memory() ? json(backend->memory()->total) : json(nullptr)},
                 {"caches", json::array()}};
  memory["free_before_prepare"] = free_now();
  const auto t_prepare = Clock::now();
  auto prepared = backend->forward_engine()->prepare(compute, spec, model->weights());
  const double prepare_s = seconds_since(t_prepare);
  memory["free_after_prepare"] = free_now();
  std::vector<std::string> prepare_lines;
  {
    const std::lock_guard<std::mutex> lock(log_mutex);
    prepare_lines = prepare_log;
  }
  for (const std::string &line : prepare_lines) std::printf("  %s\n", line.c_str());
  const json theory = weight_theory(spec);
  memory["weights_measured"] =
      memory["free_before_prepare"].is_null()
          ? json(nullptr)
          : json(memory["free_before_prepare"].get<std::int64_t>() - memory["free_after_prepare"].get<std::int64_t>());
  memory["weights_theory"] = theory;
  std::printf("prepare: %.1f s; weights: theory %.3f GB, on the device %s\n", prepare_s,
              theory["total"].get<double>() / 1e9,
              memory["weights_measured"].is_null()
                  ? "not measured (the backend reports no memory)"
                  : (std::to_string(memory["weights_measured"].get<double>() / 1e9) + " GB (free memory before - after)").c_str());

  Bench bench(*backend, *model, std::move(prepared), compute);
  json result = {{"device", device},
                 {"backend", o.backend},
                 {"commit", gptq::bench::commit()},
                 {"date", gptq::bench::utc_now()},
                 {"model", o.model.string()},
                 {"spec",
                  {{"hidden", spec.hidden_size},
                   {"intermediate", spec.intermediate_size},
                   {"layers", spec.num_layers},
                   {"heads", spec.num_heads},
                   {"kv_heads", spec.num_kv_heads},
                   {"head_dim", spec.head_dim},
                   {"vocab", spec.vocab_size},
                   {"bits", spec.quantization ? spec.quantization->bits : 16},
                   {"group_size", spec.quantization ? spec.quantization->group_size : 0}}},
                 {"prepare_s", prepare_s},
                 {"prepare_threads", threads},
                 {"prepare_log", prepare_lines},
                 {"batched_sessions_in_c_api", true},
                 {"batched_note",
                  "batched decode runs the forward engine's batched run over one cache of that batch; the C API's "
                  "gptq_generate_batch runs a session's prompts on that run (ragged: each sequence at its own "
                  "length; see the generate_batch rows)"}};
  result["prefill"] = bench.prefill(o.prefill, o.reps);
  result["decode"] = json::array();
  result["decode_by_engine"] = json::array();
  for (const bool by_engine : {false, true}) {
    json &rows = result[by_engine ? "decode_by_engine" : "decode"];
    for (std::int64_t c : o.contexts) rows.push_back(bench.decode(1, c, o.steps, memory, by_engine));
    for (std::int64_t b : o.batches) rows.push_back(bench.decode(b, o.batch_context, o.steps, memory, by_engine));
  }
  result["generate_batch"] = json::array();
  if (const gptq::tokenizer::Tokenizer *tok = model->tokenizer()) {
    for (std::int64_t b : o.batches)
      for (const bool top_p : {false, true})
        for (const bool on_host : {false, true}) {
          if (on_host && o.backend != "cuda") continue;  // the CPU engine chooses on the host anyway
          result["generate_batch"].push_back(
              bench.generate_batch(pool, *tok, b, o.batch_context, o.steps, top_p, on_host));
        }
  } else {
    result["generate_batch_note"] = "left out: the model has no tokenizer.json";
  }
  result["memory"] = memory;
  const fs::path tmp = o.out.string() + ".tmp";
  {
    std::ofstream f(tmp);
    f << result.dump(1) << "\n";
    if (!f) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, o.out);
  std::printf("wrote %s\n", o.out.c_str());
  return 0;
} catch (const std::exception &e) {
  std::fprintf(stderr, "cuda_generate_bench: %s\n", e.what());
  return 1;
}
