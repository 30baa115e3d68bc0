#include "core/pipeline/quantize_model.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/backend/forward_engine.h"
#include "core/backend/quantize_engine.h"
#include "core/base/error.h"
#include "core/cpu/cpu_info.h"
#include "core/cpu/serial_worker.h"
#include "core/cpu/thread_pool.h"
#include "core/gptq_format/gptq_checkpoint_writer.h"
#include "core/model/block_linears.h"
#include "core/model/block_forward.h"
#include "core/model/block_weights.h"
#include "core/model/checkpoint_preflight.h"
#include "core/model/model.h"
#include "core/gptq_format/checkpoint_format.h"
#include "core/gptq_format/modules_to_skip.h"
#include "core/pipeline/calibration.h"
#include "core/pipeline/calibration_chunks.h"
#include "core/pipeline/options_from_config.h"
#include "core/pipeline/pack_result.h"
#include "core/pipeline/parked_hidden.h"
#include "core/pipeline/quantize_report.h"
#include "core/pipeline/quantize_work.h"

namespace gptq::quant {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Every linear sublayer of a block, in the architecture's order.
std::vector<std::string> all_sublayers(const model::ModelSpec &spec) {
  std::vector<std::string> names;
  for (const auto &g : spec.arch->sequential_groups) names.insert(names.end(), g.begin(), g.end());
  return names;
}

// The index of the sequential group that holds `name`.
std::size_t group_of(const std::vector<std::vector<std::string_view>> &groups, std::string_view name,
                     std::int64_t layer) {
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (std::string_view member : groups[g])
      if (member == name) return g;
  fail(Status::Internal, "layer " + std::to_string(layer) + ": the block ran " + std::string(name) +
                             ", which no sequential group names");
}

// True when modules_to_skip names every member of the group: no Hessian needed.
bool group_skipped(const schema::QuantizeConfigT &config, const std::string &prefix,
                   const std::vector<std::string_view> &group) {
  for (std::string_view name : group)
    if (!is_module_skipped(config, prefix + std::string(name))) return false;
  return true;
}

io::GptqCheckpointOptions writer_options(const QuantizeModelOptions &options, Logger &log) {
  io::GptqCheckpointOptions o;
  o.overwrite = options.overwrite;
  o.notice = [&log](const std::string &m) { log.warn("quantize: " + m); };
  return o;
}

// Packs a layer's result (its time: Pack) and hands it to the writer (Write).
void add_packed(PhaseClock &clock, io::GptqCheckpointWriter &writer, const std::string &name, const QuantResult &r,
                CheckpointFormat format) {
  PackedGptq packed = [&] {
    auto s = clock.scope(Phase::Pack);
    return pack_gptq(r, format);
  }();
  auto s = clock.scope(Phase::Write);
  writer.add_quantized(name, packed);
}

// The source's blocks in order, each read (mapped, widened to fp32) on a
// thread of its own while the one before it is quantized; take() charges
// only its wait to Read. With `threads` > 1 a block's tensors are read on
// that many threads at once: when the solves run on a device the CPU is
// idle, and one thread widening a 7B block (0.8 GB of fp32) took longer
// than the GPU took to quantize it once the uploads were fast (7B on the
// H200 machine: the read wait grew from 5.0 to 9.1 s as the solves went
// from 14.5 to 11.9 s).
class BlocksAhead {
 public:
  BlocksAhead(const model::Model &source, PhaseClock &clock, int threads)
      : source_(source), clock_(clock), pool_(threads) {
    read(0);
  }

  model::BlockWeights take() {
    model::BlockWeights block = [&] {
      auto s = clock_.scope(Phase::Read);
      return next_.get();
    }();
    if (++taken_ < source_.spec().num_layers) read(taken_);
    return block;
  }

  // The reader's threads (QuantizeModelOptions::read_threads): several when
  // the solves leave the CPU idle (a quarter of its threads, 2 to 4), else one.
  static int threads_for(const QuantizeModelOptions &options, const QuantizeEngine &quantizer) {
    if (options.read_threads > 0) return options.read_threads;
    if (quantizer.backend() == "cpu") return 1;
    return std::clamp(resolve_cpu_threads(0) / 4, 2, 4);
  }

 private:
  void read(std::int64_t layer) {
    auto task = std::make_shared<std::packaged_task<model::BlockWeights()>>([this, layer] { return load(layer); });
    next_ = task->get_future();
    reader_.submit([task] { (*task)(); });
  }

  // load_block_weights, its tensors on the pool's threads.
  model::BlockWeights load(std::int64_t layer) {
    return model::load_block_weights(
        source_.spec(), source_.weights(), layer, model::QuantizedLinears::Dequantize,
        [this](std::int64_t count, const std::function<void(std::int64_t)> &task) { pool_.run(count, task); });
  }

  const model::Model &source_;
  PhaseClock &clock_;
  ThreadPool pool_;  // used by the reader's thread only
  SerialWorker reader_{1};
  std::future<model::BlockWeights> next_;
  std::int64_t taken_ = 0;
};

// What the pipeline knows of a sequential group's input during a block's run.
struct GroupInput {
  const Activations *seen = nullptr;             // the input its first member ran on
  std::unique_ptr<LayerHessian> hessian;         // kept until the group is quantized
};

}  // namespace

namespace {

// Round-to-nearest of every linear layer, straight from the weights: no
// calibration, no forward pass, columns in order.
schema::QuantizeReportT quantize_model_rtn(const model::Model &source, const schema::QuantizeConfigT &config,
                                           const QuantizeModelOptions &options, io::GptqCheckpointWriter &writer,
                                           ThreadPool &pool,
                                           const QuantizeEngine &quantizer, const Progress &progress,
                                           Clock::time_point t_start) {
  const model::ModelSpec &spec = source.spec();
  const QuantOptions opt = quant_options(config);
  const CheckpointFormat format = checkpoint_format(config);
  const std::vector<std::string> names = all_sublayers(spec);
  const QuantizeWork work(spec, config, 0, 0);
  ProgressMeter meter(progress, "quantize", work.total());
  const Compute compute(pool, &meter);
  schema::QuantizeReportT report = start_report(config, std::string(quantizer.backend()));
  PhaseClock clock;
  BlocksAhead blocks(source, clock, BlocksAhead::threads_for(options, quantizer));
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    model::BlockWeights block = blocks.take();
    const std::string prefix = model::block_prefix(*spec.arch, layer);
    for (const auto &name : names) {
      const std::string full = prefix + name;
      if (is_module_skipped(config, full)) continue;
      meter.begin_step(work.rtn(layer, name));
      const model::LinearWeights &lin = block.linear(name);
      const auto t0 = Clock::now();
      QuantResult r = [&] {
        auto s = clock.scope(Phase::Solve);
        return quantizer.rtn(compute, lin.weight.data(), lin.out_features, lin.in_features, opt, full);
      }();
      add_layer_report(report, full, r, seconds_since(t0), std::nullopt).loss = -1.0;
      add_packed(clock, writer, full, r, format);
      meter.end_step();
    }
  }
  {
    auto s = clock.scope(Phase::Write);
    writer.finish(progress);
  }
  set_phases(report, clock);
  finish_report(report, seconds_since(t_start));
  return report;
}

schema::QuantizeReportT quantize_model_on(const model::Model &source, const schema::QuantizeConfigT &config,
                                          const std::filesystem::path &out_dir, const QuantizeModelOptions &options,
                                          ThreadPool &pool, const QuantizeEngine &quantizer,
                                          const ForwardEngine &forward, const Progress &progress, Logger &log) {
  const auto t_start = Clock::now();
  const model::ModelSpec &spec = source.spec();
  if (spec.quantization)
    fail(Status::InvalidArgument, source.directory().string() +
                                      " is already a GPTQ checkpoint; quantize the float model");
  // Every shard header and every tensor's shape and dtype, before any work.
  model::preflight_float_checkpoint(source);
  if (config.method == schema::QuantizeMethod::rtn) {
    // RTN keeps the columns in order; the checkpoint and report say so.
    schema::QuantizeConfigT rtn_config = config;
    rtn_config.desc_act = false;
    rtn_config.static_groups = false;
    io::GptqCheckpointWriter writer(source.weights(), rtn_config, model::block_linears(source.spec()), out_dir,
                                    writer_options(options, log));
    return quantize_model_rtn(source, rtn_config, options, writer, pool, quantizer, progress, t_start);
  }
  const QuantOptions opt = quant_options(config);
  const CheckpointFormat format = checkpoint_format(config);
  schema::CalibrationConfigT calib_config;
  if (config.calibration) calib_config = *config.calibration;
  // The writer refuses an existing out_dir before any work is done.
  io::GptqCheckpointWriter writer(source.weights(), config, model::block_linears(source.spec()), out_dir, writer_options(options, log));
  // Finished layers are packed and written in order on a thread of their
  // own, beside the next layers' work (at most 4 waiting); the report's Pack
  // is then 0 and Write the pipeline's wait for them.
  SerialWorker packer(4);

  PhaseClock clock;
  const CalibrationData calib = [&] {
    auto s = clock.scope(Phase::Calibration);
    return make_calibration(calib_config, source);
  }();
  const std::int64_t batch = static_cast<std::int64_t>(calib.size());
  const std::int64_t seq = calib.seqlen;
  log.info("quantize: " + std::to_string(batch) + " calibration windows of " + std::to_string(seq) +
           " tokens");
  std::vector<std::int32_t> ids;
  ids.reserve(static_cast<std::size_t>(batch * seq));
  for (std::size_t i = 0; i < calib.size(); ++i) {
    auto w = calib.window(i);
    ids.insert(ids.end(), w.begin(), w.end());
  }
  // Before anything goes to the device: whether the calibration rows run
  // all at once (hidden, on the forward engine's device from block to
  // block) or in chunks of windows (parked, in host memory between blocks).
  const CalibrationChunks chunks = plan_calibration_chunks(spec, config, batch, seq, forward, options.device, log);
  const QuantizeWork work(spec, config, batch, seq, chunks.per_chunk);
  ProgressMeter meter(progress, "quantize", work.total());
  const Compute compute(pool, &meter);
  std::unique_ptr<Activations> hidden;
  std::optional<ParkedHidden> parked;
  {
    auto reading = clock.scope(Phase::Read);
    const model::GlobalWeights globals = model::load_global_weights(spec, source.weights());
    auto embedding = clock.scope(Phase::Forward);
    if (chunks.chunked())
      parked.emplace(compute, forward, spec, globals, ids, chunks, seq);
    else
      hidden = forward.embed(compute, spec, globals, ids, batch, seq);
  }

  const auto &groups = spec.arch->sequential_groups;

  schema::QuantizeReportT report = start_report(config, std::string(quantizer.backend()));
  // The report says what was used: seqlen 0 became a length, and token ids
  // may hold fewer windows than nsamples.
  if (!report.config->calibration) report.config->calibration = std::make_unique<schema::CalibrationConfigT>(calib_config);
  report.config->calibration->seqlen = static_cast<std::int32_t>(seq);
  report.config->calibration->nsamples = static_cast<std::int32_t>(batch);
  BlocksAhead blocks(source, clock, BlocksAhead::threads_for(options, quantizer));
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    model::BlockWeights block = blocks.take();
    const std::string prefix = model::block_prefix(*spec.arch, layer);
    // Quantizes the members of group g from the Hessian of their shared input
    // and puts the dequantized weights in place; forward_rows: the rows the
    // next forward runs them on, where the solve leaves them when that is
    // its device.
    auto quantize_group = [&](std::size_t g, const LayerHessian &h, const Activations *forward_rows) {
      for (std::string_view name : groups[g]) {
        const std::string full = prefix + std::string(name);
        if (is_module_skipped(config, full)) continue;
        meter.begin_step(work.solve(layer, name));
        model::LinearWeights &lin = block.linear(name);
        const auto t0 = Clock::now();
        std::optional<double> rtn_loss;
        QuantResult r;
        {
          // The solve's share of the step, then the RTN comparison's.
          const auto part = compute.part(0.0, options.compare_rtn ? 0.9 : 1.0);
          auto s = clock.scope(Phase::Solve);
          r = quantizer.solve(compute, lin.weight.data(), lin.out_features, lin.in_features, h, opt, full,
                              forward_rows);
        }
        clock.transfer(Phase::Solve, Phase::Factor, r.factor_seconds);
        const double secs = seconds_since(t0);
        if (options.compare_rtn) {
          const QuantResult rtn =
              quantizer.rtn(compute, lin.weight.data(), lin.out_features, lin.in_features, opt, full);
          rtn_loss = quantizer.loss(compute, lin.weight.data(), rtn.dequant.data(), h, lin.out_features,
                                    lin.in_features);
        }
        add_layer_report(report, full, r, secs, rtn_loss);
        log.debug("quantize: " + full + " loss " + std::to_string(r.loss));
        lin.weight = std::move(r.dequant);
        lin.held = std::move(r.held_dequant);
        {
          auto s = clock.scope(Phase::Write);  // waiting for room in the queue
          auto done = std::make_shared<QuantResult>(std::move(r));
          packer.submit([&writer, full, done, format] { writer.add_quantized(full, pack_gptq(*done, format)); });
        }
        meter.end_step();
      }
    };
    // The group's Hessian, as one progress step.
    auto hessian_of = [&](std::size_t g, const Activations &input) {
      meter.begin_step(work.hessian(layer, g));
      auto s = clock.scope(Phase::Hessian);
      std::unique_ptr<LayerHessian> h = quantizer.new_hessian(input.cols(), opt.hessian_fp64);
      quantizer.accumulate(compute, *h, input, batch);
      quantizer.finish(compute, *h);
      meter.end_step();
      return h;
    };
    // The forward pass of the block is counted group by group: from a
    // group's input to the next group's, the group's linears run (and, after
    // the first group's, attention); each observer call ends one such step.
    bool forward_step = false;
    auto forward_step_ends = [&] {
      if (forward_step) meter.end_step();
      forward_step = false;
    };
    auto forward_step_starts = [&](std::size_t g, std::int64_t windows) {
      meter.begin_step(work.forward(g, windows));
      forward_step = true;
    };
    // The members of a group share one input (ArchitectureSpec), so its
    // Hessian is accumulated once, from the first member the block runs.
    std::vector<GroupInput> inputs(groups.size());
    auto observe = [&](std::string_view name, const Activations &input, bool quantize_now) {
      const std::size_t g = group_of(groups, name, layer);
      if (inputs[g].seen) {
        if (inputs[g].seen != &input)
          fail(Status::Internal, prefix + std::string(name) + ": the members of a sequential group do not share one input");
        return;
      }
      inputs[g].seen = &input;
      forward_step_ends();
      if (!group_skipped(config, prefix, groups[g])) {
        std::unique_ptr<LayerHessian> h = hessian_of(g, input);
        if (quantize_now) {
          quantize_group(g, *h, hidden.get());
        } else {
          inputs[g].hessian = std::move(h);
        }
      }
      forward_step_starts(g, batch);
    };
    // The rows in chunks (calibration_chunks.h). A pass runs every chunk
    // through the block, uploaded from where it is parked; with `seen`, the
    // observer shows it each group's input of each chunk (the forward
    // counted group by group, as above), and with `keep` each chunk's output
    // is parked as the next block's input. `last`: the group after whose
    // input the runs stop (the rows after it are not needed: no output is
    // kept). `first`: chunk 0's rows when they are up already (the solves
    // before the pass left their weights beside them).
    using ChunkSeen = std::function<void(std::size_t g, const Activations &input, std::int64_t c)>;
    auto chunk_pass = [&](const ChunkSeen &seen, bool keep, std::optional<std::size_t> last,
                          std::unique_ptr<Activations> first) {
      if (keep && last) fail(Status::Internal, prefix + ": a pass that keeps its outputs cannot stop early");
      for (std::int64_t c = 0; c < chunks.count(); ++c) {
        const std::int64_t windows = chunks.windows(c);
        std::unique_ptr<Activations> rows = c == 0 && first ? std::move(first) : nullptr;
        if (!seen) meter.begin_step(work.block_forward(windows));
        std::vector<const Activations *> shown(groups.size(), nullptr);
        {
          auto s = clock.scope(Phase::Forward);
          if (!rows) rows = parked->upload(c);
          if (seen) {
            forward.run_block(compute, spec, block, *rows, windows, seq,
                              [&](std::string_view name, const Activations &input) {
                                const std::size_t g = group_of(groups, name, layer);
                                if (shown[g]) {  // the group's first member showed it
                                  if (shown[g] != &input)
                                    fail(Status::Internal, prefix + std::string(name) +
                                                               ": the members of a sequential group do not share "
                                                               "one input");
                                  return model::ObserverReply::kRunOn;
                                }
                                shown[g] = &input;
                                forward_step_ends();
                                seen(g, input, c);
                                if (last && g == *last) return model::ObserverReply::kStop;
                                forward_step_starts(g, windows);
                                return model::ObserverReply::kRunOn;
                              });
          } else {
            forward.run_block(compute, spec, block, *rows, windows, seq, {});
          }
          if (keep) parked->park(c, *rows);
        }
        if (seen) {
          forward_step_ends();
          for (std::size_t g = 0; g < (last ? *last + 1 : groups.size()); ++g)
            if (!shown[g]) fail(Status::Internal, prefix + std::string(groups[g].front()) + " was never run");
        } else {
          meter.end_step();
        }
      }
    };
    // Chunk c's rows of group g's input into its Hessian (made at the first
    // chunk, finished at the last): one progress step. Each chunk counts its
    // windows as samples, so H's n is the windows of all chunks, as in one run.
    auto accumulate_chunk = [&](std::size_t g, const Activations &input, std::int64_t c) {
      meter.begin_step(work.hessian(layer, g, chunks.windows(c)));
      auto s = clock.scope(Phase::Hessian);
      std::unique_ptr<LayerHessian> &h = inputs[g].hessian;
      if (!h) h = quantizer.new_hessian(input.cols(), opt.hessian_fp64);
      quantizer.accumulate(compute, *h, input, chunks.windows(c));
      if (c + 1 == chunks.count()) quantizer.finish(compute, *h);
      meter.end_step();
    };
    // Chunk 0's rows, up before the solves that precede a pass: the rows
    // the solved weights will run on (see quantize_group), then the pass's.
    auto upload_first = [&] {
      auto s = clock.scope(Phase::Forward);
      return parked->upload(0);
    };
    auto quantize_block_in_chunks = [&] {
      std::unique_ptr<Activations> next;
      if (config.true_sequential) {
        // The reference's run per group: group g's Hessian from every
        // chunk's input with the groups before it quantized, then its
        // solves. Each pass runs the block only up to group g's input.
        for (std::size_t g = 0; g < groups.size(); ++g) {
          if (group_skipped(config, prefix, groups[g])) continue;
          chunk_pass(
              [&](std::size_t shown, const Activations &input, std::int64_t c) {
                if (shown == g) accumulate_chunk(g, input, c);
              },
              false, g, std::move(next));
          next = upload_first();
          quantize_group(g, *inputs[g].hessian, next.get());
          inputs[g].hessian.reset();
        }
      } else {
        // Every group's Hessian from the float block (run up to the last
        // group's input), then every solve.
        chunk_pass(
            [&](std::size_t g, const Activations &input, std::int64_t c) {
              if (!group_skipped(config, prefix, groups[g])) accumulate_chunk(g, input, c);
            },
            false, groups.size() - 1, nullptr);
        next = upload_first();
        for (std::size_t g = 0; g < groups.size(); ++g) {
          if (!inputs[g].hessian) continue;  // skipped
          quantize_group(g, *inputs[g].hessian, next.get());
          inputs[g].hessian.reset();
        }
      }
      // The quantized block's output: the next block's input.
      chunk_pass({}, true, std::nullopt, std::move(next));
    };
    if (chunks.chunked()) {
      quantize_block_in_chunks();
    } else if (config.true_sequential) {
      // One run of the block: each group is quantized the moment its input
      // reaches it, so its linears — and everything downstream — run with the
      // quantized weights of the groups before it, as the reference's run per
      // group computes them; the output is the quantized block's.
      {
        auto s = clock.scope(Phase::Forward);
        forward.run_block(compute, spec, block, *hidden, batch, seq,
                          [&](std::string_view name, const Activations &input) {
                            observe(name, input, true);
                            return model::ObserverReply::kRunOn;
                          });
      }
      forward_step_ends();
    } else {
      // Every group's input from the float block, then all quantized, then
      // the quantized block's output for the next block.
      std::unique_ptr<Activations> scratch;
      {
        auto s = clock.scope(Phase::Forward);
        scratch = forward.copy(*hidden);
        forward.run_block(compute, spec, block, *scratch, batch, seq,
                          [&](std::string_view name, const Activations &input) {
                            observe(name, input, false);
                            return model::ObserverReply::kRunOn;
                          });
      }
      forward_step_ends();
      scratch.reset();
      for (std::size_t g = 0; g < groups.size(); ++g) {
        if (!inputs[g].hessian) continue;  // skipped
        quantize_group(g, *inputs[g].hessian, hidden.get());
        inputs[g].hessian.reset();
      }
      meter.begin_step(work.block_forward());
      {
        auto s = clock.scope(Phase::Forward);
        forward.run_block(compute, spec, block, *hidden, batch, seq, {});
      }
      meter.end_step();
    }
    if (!chunks.chunked())
      for (std::size_t g = 0; g < groups.size(); ++g)
        if (!inputs[g].seen) fail(Status::Internal, prefix + std::string(groups[g].front()) + " was never run");
  }
  {
    auto s = clock.scope(Phase::Write);
    packer.wait();
    writer.finish(progress);
  }
  if (chunks.chunked() && options.device)
    if (const auto use = options.device->memory_use(false))
      log.info("quantize: peak device memory " + std::to_string(use->peak) + " bytes with the calibration rows in " +
               std::to_string(chunks.count()) + " chunks of " + std::to_string(chunks.per_chunk) + " windows, parked in " +
               (parked->pinned() ? "page-locked" : "pageable") + " host memory");
  set_phases(report, clock);
  report.forward_backend = std::string(forward.backend());
  finish_report(report, seconds_since(t_start));
  return report;
}

}  // namespace

schema::QuantizeReportT quantize_model(const model::Model &source, const schema::QuantizeConfigT &config,
                                       const std::filesystem::path &out_dir,
                                       const QuantizeModelOptions &options, ThreadPool &pool,
                                       const QuantizeEngine &quantizer, const ForwardEngine &forward,
                                       const Progress &progress, Logger &log) {
  // The device's peak over this run only: restarted from what is live now
  // (a prepared model of the same context stays counted, as it holds memory).
  if (options.device) (void)options.device->memory_use(true);
  schema::QuantizeReportT report =
      quantize_model_on(source, config, out_dir, options, pool, quantizer, forward, progress, log);
  if (options.device)
    if (const auto use = options.device->memory_use(false)) report.peak_device_bytes = use->peak;
  return report;
}

}  // namespace gptq::quant
