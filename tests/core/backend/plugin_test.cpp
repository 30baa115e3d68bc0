// The backend plugin table v5 end to end, with a fake plugin built in the
// tests (fake_plugin.cpp) loaded through the loader's $GPTQ_CUDA_PLUGIN:
// out of memory in the plugin surfaces from the C API as
// GPTQ_ERR_OUT_OF_MEMORY with the plugin's words; a plugin whose engine
// entries are NULL still makes a usable "cuda" context whose quantization
// and evaluation run on the CPU, the fallback logged once per engine; a
// plugin with the forward group gets the model from the core (spec, float
// tensors, GPTQ linears unpacked) and runs it, the core checking ids and
// cache positions first, and the calibration forward stays on the CPU; a
// plugin with the block group runs the calibration forward, the hidden state
// in its buffers, the core showing the observer each input and uploading
// each linear's weight as it is when the linear runs; a plugin with the
// quantize group as well leaves a solve's dequantized weights in its buffers
// for the block runner when the calibration forward runs there (the same
// checkpoint as with them brought to the host).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/backend/backend_loader.h"
#include "core/backend/forward_engine.h"
#include "core/backend/quantize_engine.h"
#include "core/base/progress.h"
#include "core/cpu/thread_pool.h"
#include "core/model/block_weights.h"
#include "core/model/model.h"
#include "core/pipeline/quantize_model.h"
#include "core/config/typed.h"
#include "tests/support/quantize_shared.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "gptq/gptq.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_engines.h"

namespace fs = std::filesystem;

namespace {

struct Lines {
  std::vector<std::string> lines;
  int count(const std::string &needle) const {
    int n = 0;
    for (const auto &l : lines) n += l.find(needle) != std::string::npos;
    return n;
  }
};

void collect(void *user, gptq_log_level, const char *msg) { static_cast<Lines *>(user)->lines.emplace_back(msg); }

class FakePlugin : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("GPTQ_CUDA_PLUGIN", GPTQ_FAKE_PLUGIN_PATH, 1); }
  void TearDown() override {
    ::unsetenv("GPTQ_CUDA_PLUGIN");
    ::unsetenv("GPTQ_FAKE_PLUGIN_MODE");
  }
  static void mode(const char *m) { ::setenv("GPTQ_FAKE_PLUGIN_MODE", m, 1); }
};

fs::path demo(const char *relative) { return gptq::testing::source_dir() / "demo" / relative; }

TEST_F(FakePlugin, OutOfMemoryInOpenIsOutOfMemoryWithThePluginsMessage) {
  mode("oom");
  gptq_context *ctx = nullptr;
  EXPECT_EQ(gptq_context_create(R"({"backend": "cuda"})", &ctx), GPTQ_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(ctx, nullptr);
  const std::string msg = gptq_last_error();
  EXPECT_NE(msg.find("3221225472 bytes of workspace requested, 1073741824 free"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cuda: opening device 0"), std::string::npos) << msg;
}

TEST_F(FakePlugin, AutoFallsBackToTheCpuWhenThePluginRunsOutOfMemory) {
  mode("oom");
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "auto", "log_level": "info"})", &ctx), GPTQ_OK) << gptq_last_error();
  Lines lines;
  ASSERT_EQ(gptq_context_set_log(ctx, collect, &lines), GPTQ_OK);
  const char *name = nullptr;
  ASSERT_EQ(gptq_context_backend(ctx, &name), GPTQ_OK);
  EXPECT_STREQ(name, "cpu");
  EXPECT_EQ(lines.count("3221225472 bytes of workspace requested"), 1);
  gptq_context_destroy(ctx);
}

TEST_F(FakePlugin, AStatusOutsideTheListIsInternal) {
  mode("bad");
  gptq_context *ctx = nullptr;
  EXPECT_EQ(gptq_context_create(R"({"backend": "cuda"})", &ctx), GPTQ_ERR_INTERNAL);
  const std::string msg = gptq_last_error();
  EXPECT_NE(msg.find("fake self-test says no"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown plugin status 42"), std::string::npos) << msg;
}

TEST_F(FakePlugin, NullEnginesRunOnTheCpuAndSaySoOnce) {
  mode("ok");
  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cuda", "threads": 2, "log_level": "debug"})", &ctx), GPTQ_OK)
      << gptq_last_error();
  Lines lines;
  ASSERT_EQ(gptq_context_set_log(ctx, collect, &lines), GPTQ_OK);
  const char *name = nullptr;
  ASSERT_EQ(gptq_context_backend(ctx, &name), GPTQ_OK);
  EXPECT_STREQ(name, "cuda");
  EXPECT_EQ(lines.count("cuda: fake device opened"), 1) << "the plugin's log line goes to the context's log";
  EXPECT_EQ(lines.count("backend: cuda on Fake Device"), 1);
  EXPECT_EQ(lines.count("backend: 1.00 GiB of 2.00 GiB device memory free"), 1) << "memory_info";

  const std::string text = "The quick brown fox jumps over the lazy dog. The quick brown fox jumps again.";
  // The EvalReport of the demo model on `text` in context c.
  const auto evaluate = [&](gptq_context *c) {
    gptq_model *model = nullptr;
    EXPECT_EQ(gptq_model_open(c, demo("docs-llama-tiny").c_str(), &model), GPTQ_OK) << gptq_last_error();
    const char *report = nullptr;
    EXPECT_EQ(gptq_evaluate(c, model, text.data(), text.size(), R"({"seqlen": 8, "max_windows": 2})", nullptr,
                            nullptr, &report),
              GPTQ_OK)
        << gptq_last_error();
    nlohmann::json r = report ? nlohmann::json::parse(report) : nlohmann::json();
    gptq_model_destroy(model);
    return r;
  };
  const nlohmann::json first = evaluate(ctx), second = evaluate(ctx);
  ASSERT_TRUE(first.contains("ppl") && second.contains("ppl"));
  EXPECT_EQ(first["ppl"], second["ppl"]);
  EXPECT_GT(first["ppl"].get<double>(), 1.0);
  EXPECT_EQ(first["backend"], "cpu") << "the report names the engine that ran";
  EXPECT_EQ(lines.count("backend cuda has no forward engine"), 1) << "logged once per context";

  // The same perplexity on a CPU context: the fallback is the CPU engine itself.
  gptq_context *cpu = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu", "threads": 2})", &cpu), GPTQ_OK);
  EXPECT_EQ(evaluate(cpu)["ppl"], first["ppl"]);
  gptq_context_destroy(cpu);

  // Quantization: the report names the backend that ran it.
  const fs::path out = fs::temp_directory_path() / ("gptq_fake_plugin_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const char *report = nullptr;
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(gptq_quantize_model(ctx, demo("docs-llama-tiny").c_str(), R"({"method": "rtn", "overwrite": true})",
                                  out.c_str(), nullptr, nullptr, &report),
              GPTQ_OK)
        << gptq_last_error();
  }
  const std::string r = report;
  EXPECT_NE(r.find("\"backend\": \"cpu\""), std::string::npos) << r;
  EXPECT_EQ(lines.count("backend cuda has no quantize engine"), 1) << "logged once per context";
  fs::remove_all(out);
  gptq_context_destroy(ctx);
}

TEST_F(FakePlugin, TheForwardGroupGetsTheModelFromTheCoreAndRunsIt) {
  mode("forward");
  gptq::Logger log(gptq::LogLevel::Debug);
  Lines lines;
  log.set_sink([&](gptq::LogLevel, const std::string &m) { lines.lines.push_back(m); });
  const auto backend = gptq::open_cuda_backend(0, log);
  const gptq::ForwardEngine *engine = backend->forward_engine();
  ASSERT_NE(engine, nullptr) << "a plugin with every forward entry has a forward engine";
  EXPECT_EQ(engine->backend(), "cuda");

  // Float: 6 blocks of 2 norms and 7 linears, plus embeddings, final norm and lm_head.
  const auto model = gptq::model::Model::open(demo("docs-llama-tiny"));
  const auto prepared = engine->prepare(test_compute(), model->spec(), model->weights());
  EXPECT_EQ(lines.count("fake model llama: 6 layers, 57 dense tensors, 0 GPTQ linears"), 1);
  // Quantized (round-to-nearest, 4 bits, on the CPU): the 42 block linears go over unpacked.
  const fs::path q = gptq::testing::quantize_shared_model(demo("docs-llama-tiny"), {{"method", "rtn"}}, "fake_fwd");
  {
    const auto qmodel = gptq::model::Model::open(q);
    (void)engine->prepare(test_compute(), qmodel->spec(), qmodel->weights());
    EXPECT_EQ(lines.count("fake model llama: 6 layers, 15 dense tensors, 42 GPTQ linears of 4 bits"), 1);
    // prepare reads and hands tensors over on the compute's threads: the
    // plugin gets the same tensors (the fake hashes every value with its
    // layer and role) on one thread as on four, and the core says how long.
    const auto contents = [&](int threads) {
      gptq::ThreadPool pool(threads);
      const gptq::Compute compute(pool);
      lines.lines.clear();
      (void)engine->prepare(compute, qmodel->spec(), qmodel->weights());
      EXPECT_EQ(lines.count("prepared llama for cuda in "), 1);
      EXPECT_EQ(lines.count(" on " + std::to_string(threads) + " threads: "), 1);
      for (const auto &l : lines.lines)
        if (l.find("fake model contents ") != std::string::npos) return l;
      return std::string("no contents line");
    };
    const std::string one = contents(1);
    EXPECT_NE(one, "no contents line");
    EXPECT_EQ(contents(4), one);
    // A model the plugin refuses to begin (it is begun once the globals are
    // read, while other threads read blocks): prepare fails with the
    // plugin's reason on one thread and on four, the threads that read
    // blocks meanwhile never waiting for ever.
    mode("forward_begin_fails");
    for (const int threads : {1, 4}) {
      gptq::ThreadPool pool(threads);
      const gptq::Compute compute(pool);
      try {
        (void)engine->prepare(compute, qmodel->spec(), qmodel->weights());
        ADD_FAILURE() << "a model the plugin refused was prepared";
      } catch (const gptq::Error &e) {
        EXPECT_EQ(e.status(), gptq::Status::OutOfMemory) << e.what();
        EXPECT_NE(std::string(e.what()).find("the fake device refuses the model"), std::string::npos) << e.what();
      }
    }
    mode("forward");
  }
  fs::remove_all(q);

  gptq::ThreadPool pool(1);
  const gptq::Compute compute(pool);
  const std::int64_t vocab = model->spec().vocab_size;
  const auto argmax = [&](const gptq::Matrix &m, std::int64_t row) {
    return std::max_element(m.row(row), m.row(row) + vocab) - m.row(row);
  };
  const std::int32_t ids[] = {5, 6, 7, 8};
  const gptq::Matrix all = engine->run(compute, *prepared, ids, 2, 2, nullptr, false);
  ASSERT_EQ(all.rows, 4);
  for (std::int64_t r = 0; r < 4; ++r) EXPECT_EQ(argmax(all, r), ids[r] + 1) << "row " << r;

  auto cache = engine->make_cache(*prepared, 1, 8);
  const gptq::Matrix last = engine->run(compute, *prepared, std::span(ids, 3), 1, 3, cache.get(), true);
  ASSERT_EQ(last.rows, 1);
  EXPECT_EQ(argmax(last, 0), 8);
  EXPECT_EQ(cache->length(0), 3);
  // Refused by the core before the plugin sees them; the cache is unchanged.
  const std::int32_t bad[] = {static_cast<std::int32_t>(vocab)};
  try {
    (void)engine->run(compute, *prepared, bad, 1, 1, cache.get(), true);
    ADD_FAILURE() << "an id outside the vocabulary ran";
  } catch (const gptq::Error &e) {
    EXPECT_EQ(e.status(), gptq::Status::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos) << e.what();
  }
  const std::int32_t six[] = {1, 2, 3, 4, 5, 6};
  EXPECT_THROW((void)engine->run(compute, *prepared, six, 1, 6, cache.get(), true), gptq::Error);
  EXPECT_EQ(cache->length(0), 3);
  // A ragged run: each sequence's counts reach the plugin, last_only takes
  // each sequence's last valid id, and each length grows by its count.
  auto ragged = engine->make_cache(*prepared, 3, 8);
  const std::int64_t counts[] = {3, 1, 0};
  const std::int32_t padded[] = {5, 6, 7, 9, 0, 0, 11, 0, 0};
  const gptq::Matrix lasts = engine->run(compute, *prepared, padded, 3, 3, ragged.get(), true, counts);
  ASSERT_EQ(lasts.rows, 3);
  EXPECT_EQ(argmax(lasts, 0), 8);
  EXPECT_EQ(argmax(lasts, 1), 10);
  EXPECT_EQ(ragged->length(0), 3);
  EXPECT_EQ(ragged->length(1), 1);
  EXPECT_EQ(ragged->length(2), 0);
  // Refused whole by the core: sequence 0's 3 + 6 rows pass the capacity of
  // 8 (padding rows are stored too), and a count above the run's rows.
  const std::int32_t six_each[18] = {};
  const std::int64_t ones[] = {1, 1, 1};
  EXPECT_THROW((void)engine->run(compute, *prepared, six_each, 3, 6, ragged.get(), true, ones), gptq::Error);
  const std::int64_t four[] = {4, 0, 0};
  EXPECT_THROW((void)engine->run(compute, *prepared, padded, 3, 3, ragged.get(), true, four), gptq::Error);
  EXPECT_EQ(ragged->length(0), 3);
  // The plugin's out of memory, with its words.
  try {
    (void)engine->make_cache(*prepared, 1, 5000);
    ADD_FAILURE() << "the fake cache above 4096 positions was made";
  } catch (const gptq::Error &e) {
    EXPECT_EQ(e.status(), gptq::Status::OutOfMemory);
    EXPECT_NE(std::string(e.what()).find("5120000 bytes asked, 1073741824 free"), std::string::npos) << e.what();
  }

  // The token choice (v7): the core hands the plugin each sequence's flag
  // and number and takes back ids, kTokenOnHost with the sequence's row, or
  // kTokenNotWanted; the lengths grow as in run.
  {
    auto choosing = engine->make_cache(*prepared, 4, 8);
    const std::int64_t grow[] = {2, 1, 2, 0};
    const std::int32_t prompts[] = {5, 6, 9, 0, 11, 12, 0, 0};
    const std::uint8_t active[] = {1, 1, 1, 0};
    const double uniforms[] = {0.5, 0.25, 0.125, 0.75};
    const std::int32_t seen_ids[] = {5, 6, 9, 11, 12};
    const std::int64_t seen_offsets[] = {0, 2, 3, 5, 5};
    gptq::SampleStep step;
    step.temperature = 0.8;
    step.top_p = 0.9;
    step.repetition_penalty = 1.2;
    step.active = active;
    step.uniforms = uniforms;
    step.seen_ids = seen_ids;
    step.seen_offsets = seen_offsets;
    gptq::Matrix rows;
    const std::vector<std::int32_t> tokens =
        engine->run_and_sample(compute, *prepared, prompts, 4, 2, choosing.get(), grow, step, rows);
    ASSERT_EQ(tokens.size(), 4u);
    EXPECT_EQ(tokens[0], static_cast<std::int32_t>(0.5 * static_cast<double>(vocab)));
    EXPECT_EQ(tokens[1], gptq::kTokenOnHost);
    EXPECT_EQ(tokens[2], static_cast<std::int32_t>(0.125 * static_cast<double>(vocab)));
    EXPECT_EQ(tokens[3], gptq::kTokenNotWanted);
    ASSERT_EQ(rows.rows, 4);
    EXPECT_EQ(argmax(rows, 1), 10) << "sequence 1's row (its last valid id 9, plus 1) came back";
    EXPECT_EQ(choosing->length(0), 2);
    EXPECT_EQ(choosing->length(1), 1);
    EXPECT_EQ(choosing->length(3), 0);
    // A step that does not fit is refused before the plugin runs.
    step.seen_offsets = std::span<const std::int64_t>(seen_offsets, 4);
    try {
      (void)engine->run_and_sample(compute, *prepared, prompts, 4, 2, choosing.get(), grow, step, rows);
      ADD_FAILURE() << "a step with 4 seen offsets for 4 sequences ran";
    } catch (const gptq::Error &e) {
      EXPECT_EQ(e.status(), gptq::Status::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("seen_offsets"), std::string::npos) << e.what();
    }
    EXPECT_EQ(choosing->length(0), 2);
    // A token outside the vocabulary from the plugin is the plugin's bug.
    step.seen_offsets = seen_offsets;
    const double bad_uniforms[] = {-0.5, 0.25, 0.125, 0.75};
    step.uniforms = bad_uniforms;
    const std::int32_t next[] = {1, 2, 3, 0};
    const std::int64_t one_each[] = {1, 1, 1, 0};
    try {
      (void)engine->run_and_sample(compute, *prepared, next, 4, 1, choosing.get(), one_each, step, rows);
      ADD_FAILURE() << "token " << -0.5 * static_cast<double>(vocab) << " was taken";
    } catch (const gptq::Error &e) {
      EXPECT_EQ(e.status(), gptq::Status::Internal);
      EXPECT_NE(std::string(e.what()).find("for sequence 0"), std::string::npos) << e.what();
    }
  }

  // The calibration forward runs on the CPU, said once.
  const gptq::model::GlobalWeights globals = gptq::model::load_global_weights(model->spec(), model->weights());
  for (int i = 0; i < 2; ++i) {
    const auto hidden = engine->embed(compute, model->spec(), globals, ids, 1, 4);
    EXPECT_EQ(hidden->rows(), 4);
  }
  EXPECT_EQ(lines.count("cuda has no block-by-block forward; the calibration forward runs on the CPU"), 1);
}

TEST_F(FakePlugin, TheBlockGroupRunsTheCalibrationForwardInThePluginsBuffers) {
  mode("blocks");
  gptq::Logger log(gptq::LogLevel::Debug);
  Lines lines;
  log.set_sink([&](gptq::LogLevel, const std::string &m) { lines.lines.push_back(m); });
  const auto backend = gptq::open_cuda_backend(0, log);
  const gptq::ForwardEngine &engine = *backend->forward_engine();
  const gptq::ForwardEngine &cpu = test_forward_engine();
  const auto model = gptq::model::Model::open(demo("docs-llama-tiny"));
  const gptq::model::ModelSpec &spec = model->spec();
  gptq::ThreadPool pool(1);
  const gptq::Compute compute(pool);
  const gptq::model::GlobalWeights globals = gptq::model::load_global_weights(spec, model->weights());
  const std::int32_t ids[] = {5, 6, 7, 8, 9, 10};
  const std::int64_t batch = 2, seq = 3;

  // embed: the CPU's rows, uploaded; copy: the plugin's copy (or upload).
  auto hidden = engine.embed(compute, spec, globals, ids, batch, seq);
  const auto want = cpu.embed(compute, spec, globals, ids, batch, seq);
  gptq::Matrix s1, s2;
  EXPECT_EQ(hidden->host(s1).data, want->host(s2).data);
  EXPECT_EQ(&hidden->host(s1), &s1) << "the rows live in the plugin's buffer, read back on request";
  const auto copied = engine.copy(*hidden);
  EXPECT_EQ(copied->host(s2).data, s1.data);
  // copy of host rows (the pipeline's parked chunks of calibration rows):
  // uploaded into a buffer of the plugin, where run_block runs them.
  const auto uploaded = engine.copy(*want);
  gptq::Matrix s3;
  EXPECT_EQ(&uploaded->host(s3), &s3) << "host rows go up to the plugin's buffer";
  EXPECT_EQ(s3.data, s1.data);
  EXPECT_EQ(lines.count("calibration forward on cuda (Fake Device)"), 1);

  // Host memory page-locked for the copies (host_pin, v8) until the handle
  // goes; a refusal is null, said once, and the copies work anyway.
  {
    const std::string at = std::to_string(reinterpret_cast<std::uintptr_t>(s3.data.data()));
    auto pinned = engine.pin_host(s3.data.data(), s3.data.size() * sizeof(float));
    EXPECT_NE(pinned, nullptr);
    EXPECT_EQ(lines.count("fake pin " + std::to_string(s3.data.size() * sizeof(float)) + " bytes at " + at), 1);
    pinned.reset();
    EXPECT_EQ(lines.count("fake unpin " + at), 1);
    const std::size_t too_much = std::size_t{2} << 30;  // never touched: the fake refuses above 1 GiB
    EXPECT_EQ(engine.pin_host(s3.data.data(), too_much), nullptr);
    EXPECT_EQ(engine.pin_host(s3.data.data(), too_much), nullptr);
    EXPECT_EQ(lines.count("cuda: host memory stays pageable (" + std::to_string(too_much) +
                          " bytes could not be page-locked: the fake locks at most 1 GiB)"),
              1);
    EXPECT_EQ(cpu.pin_host(s3.data.data(), 64), nullptr) << "the CPU engine computes in host memory";
  }

  // The observer: the CPU engine's names in its order, shared inputs shared.
  gptq::model::BlockWeights block = gptq::model::load_block_weights(spec, model->weights(), 0);
  std::vector<std::string> names_cpu, names_plugin;
  std::vector<const gptq::Activations *> seen_cpu, seen_plugin;
  auto cpu_hidden = cpu.copy(*want);
  cpu.run_block(compute, spec, block, *cpu_hidden, batch, seq, [&](std::string_view n, const gptq::Activations &a) {
    names_cpu.emplace_back(n);
    seen_cpu.push_back(&a);
    return gptq::model::ObserverReply::kRunOn;
  });
  engine.run_block(compute, spec, block, *hidden, batch, seq, [&](std::string_view n, const gptq::Activations &a) {
    names_plugin.emplace_back(n);
    seen_plugin.push_back(&a);
    gptq::Matrix m;
    // The fake fills input i (0: attention, 1: o_proj, 2: MLP, 3: down) with i + 1.
    const float fill = n == "self_attn.o_proj" ? 2.0f : n == "mlp.down_proj" ? 4.0f : n.starts_with("mlp.") ? 3.0f : 1.0f;
    EXPECT_EQ(a.host(m).data.front(), fill) << n;
    EXPECT_EQ(a.rows(), batch * seq);
    return gptq::model::ObserverReply::kRunOn;
  });
  EXPECT_EQ(names_plugin, names_cpu);
  ASSERT_EQ(seen_plugin.size(), seen_cpu.size());
  for (std::size_t i = 1; i < seen_cpu.size(); ++i)
    EXPECT_EQ(seen_plugin[i] == seen_plugin[i - 1], seen_cpu[i] == seen_cpu[i - 1]) << names_cpu[i];
  // The fake adds the sum of the weights that ran to every hidden value.
  double sum = 0;
  for (const auto &n : names_cpu)
    for (const float v : block.linear(n).weight) sum += v;
  const gptq::Matrix &out = hidden->host(s2);
  for (std::size_t i = 0; i < out.data.size(); ++i)
    ASSERT_NEAR(out.data[i], s1.data[i] + static_cast<float>(sum), 1e-4) << i;

  // Without an observer the weights go up before the run (the plugin gets
  // none to call): the same sum.
  auto plain = engine.copy(*copied);
  engine.run_block(compute, spec, block, *plain, batch, seq, {});
  const gptq::Matrix &plain_out = plain->host(s2);
  for (std::size_t i = 0; i < plain_out.data.size(); ++i)
    ASSERT_NEAR(plain_out.data[i], s1.data[i] + static_cast<float>(sum), 1e-4) << i;

  // Weights replaced in the observer (true-sequential) are the ones that
  // run: q_proj's and k_proj's, replaced while q_proj is observed (as the
  // pipeline quantizes the group), add 1 each to the sum.
  auto again = engine.copy(*copied);
  engine.run_block(compute, spec, block, *again, batch, seq, [&](std::string_view n, const gptq::Activations &) {
    if (n != "self_attn.q_proj") return gptq::model::ObserverReply::kRunOn;
    block.linear("self_attn.q_proj").weight[0] += 1.0f;
    block.linear("self_attn.k_proj").weight[0] += 1.0f;
    return gptq::model::ObserverReply::kRunOn;
  });
  const gptq::Matrix &replaced = again->host(s2);
  for (std::size_t i = 0; i < replaced.data.size(); ++i)
    ASSERT_NEAR(replaced.data[i], s1.data[i] + static_cast<float>(sum + 2.0), 1e-4) << i;

  // An observer's error comes back as itself, from the middle of the block.
  int calls = 0;
  try {
    engine.run_block(compute, spec, block, *again, batch, seq, [&](std::string_view n, const gptq::Activations &) {
      ++calls;
      if (n == "mlp.gate_proj") gptq::fail(gptq::Status::Numerical, "observer says no at " + std::string(n));
      return gptq::model::ObserverReply::kRunOn;
    });
    ADD_FAILURE() << "the observer's error was lost";
  } catch (const gptq::Error &e) {
    EXPECT_EQ(e.status(), gptq::Status::Numerical);
    EXPECT_STREQ(e.what(), "observer says no at mlp.gate_proj");
  }
  EXPECT_EQ(calls, 5) << "q, k, v, o, gate: the run stopped at the failing linear";

  // An observer that needs nothing more ends the run there: no error, no
  // linear after it shown (the fake leaves hidden NaN, as it may).
  calls = 0;
  auto stopped = engine.copy(*copied);
  engine.run_block(compute, spec, block, *stopped, batch, seq, [&](std::string_view n, const gptq::Activations &) {
    ++calls;
    return n == "self_attn.o_proj" ? gptq::model::ObserverReply::kStop : gptq::model::ObserverReply::kRunOn;
  });
  EXPECT_EQ(calls, 4) << "q, k, v, o: the run ended at o_proj's input";

  // Cancelled by the progress callback between linears.
  bool stop = false;
  const gptq::Progress progress([&](std::string_view, std::uint64_t, std::uint64_t) { return !stop; });
  gptq::ProgressMeter meter(progress, "quantize", 10);
  const gptq::Compute cancellable(pool, &meter);
  try {
    engine.run_block(cancellable, spec, block, *again, batch, seq, [&](std::string_view n, const gptq::Activations &) {
      if (n != "self_attn.o_proj") return gptq::model::ObserverReply::kRunOn;
      stop = true;
      std::this_thread::sleep_for(gptq::ProgressMeter::kInterval * 2);  // the meter asks the callback again
      return gptq::model::ObserverReply::kRunOn;
    });
    ADD_FAILURE() << "the run was not cancelled";
  } catch (const gptq::Error &e) {
    EXPECT_EQ(e.status(), gptq::Status::Cancelled) << e.what();
  }
  EXPECT_EQ(lines.count("calibration forward on cuda (Fake Device)"), 1) << "said once";
  EXPECT_EQ(lines.count("runs on the CPU"), 0);
}

// The device memory account and the failure-injection hook, core side: the
// loader reads the plugin's live and peak bytes (the peak restarting on
// request), the C API's quantize report gives the run's peak (0 on a CPU
// context), and an allocation the hook fails at any point of a GPTQ run is
// out of memory with the plugin's words, leaves no checkpoint and no buffer
// behind, and the next run on the same backend succeeds.
TEST_F(FakePlugin, DeviceMemoryReachesTheReportAndInjectedFailuresLeakNothing) {
  mode("blocks");
  const std::string model_dir = demo("docs-llama-tiny").string();
  const auto model = gptq::model::Model::open(model_dir);
  const std::int64_t nsamples = 2, seqlen = 8, hidden = model->spec().hidden_size;
  const std::string cfg = R"({"calibration": {"token_ids": [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20],)"
                          R"( "nsamples": 2, "seqlen": 8}})";
  const fs::path out = fs::temp_directory_path() / ("gptq_fake_plugin_memory_" + std::to_string(::getpid()));
  fs::remove_all(out);

  // Through the C API: the report's peak is the fake's, at least the hidden
  // state's buffer (nsamples x seqlen x hidden fp32).
  for (const char *backend : {"cuda", "cpu"}) {
    gptq_context *ctx = nullptr;
    ASSERT_EQ(gptq_context_create((std::string(R"({"backend": ")") + backend + R"(", "threads": 2})").c_str(), &ctx),
              GPTQ_OK)
        << gptq_last_error();
    const char *report = nullptr;
    ASSERT_EQ(gptq_quantize_model(ctx, model_dir.c_str(), cfg.c_str(), out.c_str(), nullptr, nullptr, &report), GPTQ_OK)
        << gptq_last_error();
    const auto r = nlohmann::json::parse(report);
    const std::uint64_t peak = r.value("peak_device_bytes", std::uint64_t{0});
    if (std::string(backend) == "cuda")
      EXPECT_GE(peak, static_cast<std::uint64_t>(nsamples * seqlen * hidden) * sizeof(float)) << report;
    else
      EXPECT_EQ(peak, 0u) << "the CPU counts no device memory";
    fs::remove_all(out);
    gptq_context_destroy(ctx);
  }

  // The loader's side of the entries.
  gptq::Logger log(gptq::LogLevel::Error);
  const auto backend = gptq::open_cuda_backend(0, log);
  const gptq::model::ModelSpec &spec = model->spec();
  gptq::ThreadPool pool(1);
  const gptq::Compute compute(pool);
  const gptq::ForwardEngine &engine = *backend->forward_engine();
  const gptq::model::GlobalWeights globals = gptq::model::load_global_weights(spec, model->weights());
  const std::int32_t ids[] = {5, 6, 7, 8};
  auto a = engine.embed(compute, spec, globals, ids, 1, 4);
  auto b = engine.copy(*a);
  const std::uint64_t one = static_cast<std::uint64_t>(4 * hidden) * sizeof(float);
  auto use = backend->memory_use(false);
  ASSERT_TRUE(use.has_value());
  EXPECT_EQ(use->live, 2 * one);
  EXPECT_EQ(use->allocations, 2u);
  b.reset();
  use = backend->memory_use(true);
  EXPECT_EQ(use->live, one);
  EXPECT_EQ(use->peak, 2 * one) << "the peak stays until reset";
  EXPECT_EQ(backend->memory_use(false)->peak, one) << "reset to what is live";
  backend->inject_failure(gptq::InjectedFailure::Allocation, 2);
  b = engine.copy(*a);  // the first allocation from now: works
  try {
    (void)engine.copy(*a);
    ADD_FAILURE() << "the injected failure did not happen";
  } catch (const gptq::Error &e) {
    EXPECT_EQ(e.status(), gptq::Status::OutOfMemory);
    EXPECT_NE(std::string(e.what()).find("out of device memory for a buffer of activations"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(backend->memory_use(false)->live, 2 * one);
  EXPECT_NO_THROW((void)engine.copy(*a)) << "the hook fires once";
  EXPECT_THROW(backend->inject_failure(gptq::InjectedFailure::Check, 1), gptq::Error) << "the fake counts no checks";
  a.reset();
  b.reset();

  // Every allocation of a GPTQ run, failed in turn, through the pipeline the
  // C API runs: out of memory, no checkpoint, nothing left live.
  const auto config = gptq::config::parse_quantize_config(cfg);
  gptq::quant::QuantizeModelOptions options;
  options.device = backend.get();
  auto run = [&] {
    return gptq::quant::quantize_model(*model, config, out, options, pool, backend->quantize_engine() ? *backend->quantize_engine() : test_quantize_engine(),
                                       engine, gptq::Progress(), log);
  };
  const std::uint64_t live_before = backend->memory_use(false)->live;
  const std::uint64_t allocations_before = backend->memory_use(false)->allocations;
  EXPECT_GT(run().peak_device_bytes, 0u);
  fs::remove_all(out);
  const std::uint64_t per_run = backend->memory_use(false)->allocations - allocations_before;
  // The hidden state's buffer (the CPU quantize engine solves from host
  // copies of the inputs the fake shows, which it owns).
  ASSERT_GE(per_run, 1u);
  for (std::uint64_t n = 1; n <= per_run; ++n) {
    backend->inject_failure(gptq::InjectedFailure::Allocation, static_cast<std::int64_t>(n));
    try {
      (void)run();
      ADD_FAILURE() << "allocation " << n << " of " << per_run << " did not fail";
    } catch (const gptq::Error &e) {
      EXPECT_EQ(e.status(), gptq::Status::OutOfMemory) << "allocation " << n << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("a buffer of activations"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(out)) << "allocation " << n << ": a checkpoint was left";
    EXPECT_EQ(backend->memory_use(false)->live, live_before) << "allocation " << n << ": buffers left behind";
  }
  backend->inject_failure(gptq::InjectedFailure::Allocation, 0);
  EXPECT_NO_THROW((void)run()) << "a clean run after the failures";
  fs::remove_all(out);

  // The same with the calibration rows in chunks of one window (parked on
  // the host between blocks, each uploaded for its block runs): more
  // allocations, each failure refused alike, nothing left behind.
  struct ChunkOfOne {
    ChunkOfOne() { ::setenv("GPTQ_CALIBRATION_CHUNK_WINDOWS", "1", 1); }
    ~ChunkOfOne() { ::unsetenv("GPTQ_CALIBRATION_CHUNK_WINDOWS"); }
  } chunk_of_one;
  const std::uint64_t chunked_before = backend->memory_use(false)->allocations;
  EXPECT_GT(run().peak_device_bytes, 0u);
  fs::remove_all(out);
  const std::uint64_t per_chunked_run = backend->memory_use(false)->allocations - chunked_before;
  EXPECT_GT(per_chunked_run, per_run) << "each chunk goes up for each pass";
  for (std::uint64_t n = 1; n <= per_chunked_run; ++n) {
    backend->inject_failure(gptq::InjectedFailure::Allocation, static_cast<std::int64_t>(n));
    try {
      (void)run();
      ADD_FAILURE() << "chunked: allocation " << n << " of " << per_chunked_run << " did not fail";
    } catch (const gptq::Error &e) {
      EXPECT_EQ(e.status(), gptq::Status::OutOfMemory) << "chunked: allocation " << n << ": " << e.what();
    }
    EXPECT_FALSE(fs::exists(out)) << "chunked: allocation " << n << ": a checkpoint was left";
    EXPECT_EQ(backend->memory_use(false)->live, live_before) << "chunked: allocation " << n << ": buffers left behind";
  }
  backend->inject_failure(gptq::InjectedFailure::Allocation, 0);
  EXPECT_NO_THROW((void)run()) << "a clean chunked run after the failures";
  fs::remove_all(out);
}

// The engines of one plugin state: a solve whose forward rows live in the
// state leaves its dequantized weights there (nothing downloaded), the block
// runner takes them from there, and the block's output is the one the host
// round trip gives; the CPU forward reads such weights back.
TEST_F(FakePlugin, ASolveLeavesItsDequantizedWeightsWhereTheForwardRuns) {
  mode("quantize");
  gptq::Logger log(gptq::LogLevel::Debug);
  Lines lines;
  log.set_sink([&](gptq::LogLevel, const std::string &m) { lines.lines.push_back(m); });
  const auto backend = gptq::open_cuda_backend(0, log);
  const gptq::ForwardEngine &engine = *backend->forward_engine();
  const gptq::QuantizeEngine &quantizer = *backend->quantize_engine();
  const gptq::ForwardEngine &cpu = test_forward_engine();
  const auto model = gptq::model::Model::open(demo("docs-llama-tiny"));
  const gptq::model::ModelSpec &spec = model->spec();
  gptq::ThreadPool pool(1);
  const gptq::Compute compute(pool);
  const gptq::model::GlobalWeights globals = gptq::model::load_global_weights(spec, model->weights());
  const std::int32_t ids[] = {5, 6, 7, 8, 9, 10};
  const std::int64_t batch = 2, seq = 3;
  const auto hidden = engine.embed(compute, spec, globals, ids, batch, seq);
  const gptq::quant::QuantOptions opt;

  // Runs block 0 on a copy of hidden, q_proj and k_proj replaced by their
  // solves (forward_rows as given) when q_proj's input shows, as the
  // pipeline does; returns the output and leaves the block as it ran.
  gptq::model::BlockWeights block;
  const auto run = [&](const gptq::Activations *forward_rows) {
    block = gptq::model::load_block_weights(spec, model->weights(), 0);
    auto h = engine.copy(*hidden);
    engine.run_block(compute, spec, block, *h, batch, seq, [&](std::string_view n, const gptq::Activations &x) {
      if (n != "self_attn.q_proj") return gptq::model::ObserverReply::kRunOn;
      auto hs = quantizer.new_hessian(x.cols(), false);
      quantizer.accumulate(compute, *hs, x, batch);
      quantizer.finish(compute, *hs);
      for (const char *name : {"self_attn.q_proj", "self_attn.k_proj"}) {
        gptq::model::LinearWeights &lin = block.linear(name);
        gptq::quant::QuantResult r = quantizer.solve(compute, lin.weight.data(), lin.out_features,
                                                     lin.in_features, *hs, opt, name, forward_rows);
        EXPECT_EQ(r.dequant.empty(), r.held_dequant != nullptr) << name;
        EXPECT_GT(r.factor_seconds, 0.0) << "the plugin's factoring time comes back";
        lin.weight = std::move(r.dequant);
        lin.held = std::move(r.held_dequant);
      }
      return gptq::model::ObserverReply::kRunOn;
    });
    gptq::Matrix m;
    return h->host(m).data;
  };
  const auto on_host = run(nullptr);
  EXPECT_EQ(lines.count("fake solve: dequant to host"), 2);
  const gptq::model::BlockWeights host_block = block;
  const auto on_device = run(hidden.get());
  EXPECT_EQ(lines.count("fake solve: dequant to buffer"), 2);
  EXPECT_EQ(lines.count("fake solve: dequant to host"), 2) << "nothing more came to the host";
  EXPECT_EQ(lines.count("fake block: a linear set from a buffer"), 2) << "q and k ran from the solve's buffer";
  ASSERT_TRUE(block.linear("self_attn.q_proj").held && block.linear("self_attn.q_proj").weight.empty());
  EXPECT_EQ(on_device, on_host) << "the block runner ran the solve's result from the buffer";
  // The held matrix reads back as the host's result.
  for (const char *name : {"self_attn.q_proj", "self_attn.k_proj"}) {
    const gptq::model::LinearWeights &lin = block.linear(name);
    std::vector<float> back(static_cast<std::size_t>(lin.out_features * lin.in_features));
    lin.held->read(back.data());
    EXPECT_EQ(back, host_block.linear(name).weight) << name;
  }
  // The CPU forward runs a block with held weights by reading them back.
  auto cpu_host = cpu.embed(compute, spec, globals, ids, batch, seq);
  auto cpu_held = cpu.copy(*cpu_host);
  cpu.run_block(compute, spec, host_block, *cpu_host, batch, seq, {});
  cpu.run_block(compute, spec, block, *cpu_held, batch, seq, {});
  gptq::Matrix a, b;
  EXPECT_EQ(cpu_held->host(a).data, cpu_host->host(b).data);

  // GPTQ_DEQUANT_ON_DEVICE=0: the round trip, even for rows on the device.
  ::setenv("GPTQ_DEQUANT_ON_DEVICE", "0", 1);
  const auto forced = gptq::open_cuda_backend(0, log);
  ::unsetenv("GPTQ_DEQUANT_ON_DEVICE");
  const auto forced_hidden = forced->forward_engine()->embed(compute, spec, globals, ids, batch, seq);
  auto hs = forced->quantize_engine()->new_hessian(spec.hidden_size, false);
  forced->quantize_engine()->accumulate(compute, *hs, *forced_hidden, batch);
  forced->quantize_engine()->finish(compute, *hs);
  const gptq::model::LinearWeights &q = host_block.linear("self_attn.q_proj");
  std::vector<float> w(static_cast<std::size_t>(q.out_features * q.in_features), 0.25f);
  const gptq::quant::QuantResult r = forced->quantize_engine()->solve(compute, w.data(), q.out_features, q.in_features,
                                                                      *hs, opt, "q", forced_hidden.get());
  EXPECT_FALSE(r.held_dequant);
  EXPECT_EQ(r.dequant, std::vector<float>(w.size(), 0.25f));
  EXPECT_EQ(lines.count("fake solve: dequant to host"), 3);
}

// The whole pipeline on the fake's engines: every GPTQ solve leaves its
// dequantized weights in the plugin's buffers (none downloaded), true-
// sequential or not, and the checkpoint and the layers' losses are those of
// the run that brings them to the host (GPTQ_DEQUANT_ON_DEVICE=0). The fake's
// inputs follow the hidden state, so a weight that ran wrong would change
// later layers' Hessians and losses.
TEST_F(FakePlugin, TheDeviceResidentPathWritesTheCheckpointOfTheHostRoundTrip) {
  mode("quantize");
  const fs::path out = fs::temp_directory_path() / ("gptq_fake_held_" + std::to_string(::getpid()));
  // The files of the checkpoint by name, the report, and the log.
  struct Run {
    std::vector<std::pair<std::string, std::string>> files;
    nlohmann::json report;
    Lines lines;
  };
  const auto quantize = [&](bool sequential) {
    Run run;
    gptq_context *ctx = nullptr;
    EXPECT_EQ(gptq_context_create(R"({"backend": "cuda", "threads": 2, "log_level": "debug"})", &ctx), GPTQ_OK)
        << gptq_last_error();
    if (!ctx) return run;
    EXPECT_EQ(gptq_context_set_log(ctx, collect, &run.lines), GPTQ_OK);
    fs::remove_all(out);
    const std::string cfg = std::string(R"({"bits": 4, "group_size": 64, "true_sequential": )") +
                            (sequential ? "true" : "false") + R"(, "calibration": {"files": [")" +
                            demo("text/calib.txt").string() + R"("], "nsamples": 2, "seqlen": 32}})";
    const char *report = nullptr;
    EXPECT_EQ(gptq_quantize_model(ctx, demo("docs-llama-tiny").c_str(), cfg.c_str(), out.c_str(), nullptr, nullptr,
                                  &report),
              GPTQ_OK)
        << gptq_last_error();
    if (report) run.report = nlohmann::json::parse(report);
    if (fs::exists(out))
      for (const auto &e : fs::directory_iterator(out)) {
        std::ifstream f(e.path(), std::ios::binary);
        run.files.emplace_back(e.path().filename(), std::string(std::istreambuf_iterator<char>(f), {}));
      }
    std::sort(run.files.begin(), run.files.end());
    fs::remove_all(out);
    gptq_context_destroy(ctx);
    return run;
  };
  const auto losses = [](const nlohmann::json &report) {
    std::vector<double> l;
    for (const auto &layer : report["layers"]) l.push_back(layer["loss"].get<double>());
    return l;
  };
  for (const bool sequential : {true, false}) {
    SCOPED_TRACE(sequential ? "true-sequential" : "not true-sequential");
    const Run held = quantize(sequential);
    ::setenv("GPTQ_DEQUANT_ON_DEVICE", "0", 1);
    const Run host = quantize(sequential);
    ::unsetenv("GPTQ_DEQUANT_ON_DEVICE");
    const int linears = 6 * 7;  // docs-llama-tiny
    EXPECT_EQ(held.lines.count("fake solve: dequant to buffer"), linears);
    EXPECT_EQ(held.lines.count("fake solve: dequant to host"), 0) << "no dequantized weights came to the host";
    EXPECT_EQ(host.lines.count("fake solve: dequant to host"), linears);
    EXPECT_EQ(held.lines.count("fake block: a linear set from a buffer"), linears) << "every linear ran from there";
    EXPECT_EQ(host.lines.count("fake block: a linear set from a buffer"), 0);
    EXPECT_EQ(held.report.value("forward_backend", ""), "cuda");
    EXPECT_EQ(held.report.value("backend", ""), "cuda");
    EXPECT_GT(held.report["phases"]["factor"].get<double>(), 0.0) << "the plugin's factoring is its own phase";
    ASSERT_FALSE(held.files.empty());
    EXPECT_EQ(held.files, host.files) << "the same checkpoint, byte for byte";
    EXPECT_EQ(losses(held.report), losses(host.report));
    EXPECT_EQ(losses(held.report).size(), static_cast<std::size_t>(linears));
  }
}

TEST(PluginCallScope, LendsTheCallsCancellationToTheThreadItLivesOn) {
  EXPECT_FALSE(gptq::plugin_call_cancelled());
  bool stop = false;
  {
    gptq::PluginCallScope outer([&] { return stop; });
    EXPECT_FALSE(gptq::plugin_call_cancelled());
    stop = true;
    EXPECT_TRUE(gptq::plugin_call_cancelled());
    {
      gptq::PluginCallScope inner([] { return false; });
      EXPECT_FALSE(gptq::plugin_call_cancelled());
    }
    EXPECT_TRUE(gptq::plugin_call_cancelled());
  }
  EXPECT_FALSE(gptq::plugin_call_cancelled());
}

}  // namespace
