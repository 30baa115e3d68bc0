#include "core/quant/quantize_model.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/io/gptq_checkpoint_writer.h"
#include "core/model/block_forward.h"
#include "core/model/block_weights.h"
#include "core/model/forward.h"
#include "core/model/model.h"
#include "core/quant/calibration.h"
#include "core/quant/gptq_packing.h"
#include "core/quant/hessian.h"
#include "core/quant/layer_loss.h"
#include "core/quant/options_from_config.h"
#include "core/quant/quantize_matrix.h"
#include "core/quant/quantize_report.h"

namespace gptq::quant {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The groups of sublayers quantized together: the architecture's
// true-sequential order, or every linear of the block at once.
std::vector<std::vector<std::string>> sublayer_groups(const model::ModelSpec &spec, bool true_sequential) {
  std::vector<std::vector<std::string>> groups;
  for (const auto &g : spec.arch->sequential_groups) {
    std::vector<std::string> names(g.begin(), g.end());
    if (true_sequential || groups.empty()) {
      groups.push_back(std::move(names));
    } else {
      groups.front().insert(groups.front().end(), names.begin(), names.end());
    }
  }
  return groups;
}

}  // namespace

namespace {

// Round-to-nearest of every linear layer, straight from the weights: no
// calibration, no forward pass, columns in order.
schema::QuantizeReportT quantize_model_rtn(const model::Model &source, const schema::QuantizeConfigT &config,
                                           io::GptqCheckpointWriter &writer, const Progress &progress,
                                           Clock::time_point t_start) {
  const model::ModelSpec &spec = source.spec();
  const QuantOptions opt = quant_options(config);
  const CheckpointFormat format = checkpoint_format(config);
  const std::vector<std::string> names = sublayer_groups(spec, /*true_sequential=*/false).front();
  const std::uint64_t total = names.size() * static_cast<std::uint64_t>(spec.num_layers);
  std::uint64_t done = 0;
  schema::QuantizeReportT report = start_report(config, "cpu");
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    model::BlockWeights block = model::load_block_weights(spec, source.weights(), layer);
    const std::string prefix = model::block_prefix(*spec.arch, layer);
    for (const auto &name : names) {
      progress.report("quantize", done++, total);
      const std::string full = prefix + name;
      if (is_module_skipped(config, full)) continue;
      const model::LinearWeights &lin = block.linear(name);
      const auto t0 = Clock::now();
      QuantResult r = rtn_matrix(lin.weight.data(), lin.out_features, lin.in_features, opt, full);
      add_layer_report(report, full, r, seconds_since(t0), std::nullopt).loss = -1.0;
      writer.add_quantized(full, pack_gptq(r, format));
    }
  }
  progress.report("quantize", done, total);
  writer.finish(progress);
  finish_report(report, seconds_since(t_start));
  return report;
}

}  // namespace

schema::QuantizeReportT quantize_model(const model::Model &source, const schema::QuantizeConfigT &config,
                                       const std::filesystem::path &out_dir,
                                       const QuantizeModelOptions &options, const Progress &progress,
                                       Logger &log) {
  const auto t_start = Clock::now();
  const model::ModelSpec &spec = source.spec();
  if (spec.quantization)
    fail(Status::InvalidArgument, source.directory().string() +
                                      " is already a GPTQ checkpoint; quantize the float model");
  if (config.method == schema::QuantizeMethod::rtn) {
    // RTN keeps the columns in order; the checkpoint and report say so.
    schema::QuantizeConfigT rtn_config = config;
    rtn_config.desc_act = false;
    rtn_config.static_groups = false;
    io::GptqCheckpointWriter writer(source, rtn_config, out_dir, {options.overwrite, 5'000'000'000});
    return quantize_model_rtn(source, rtn_config, writer, progress, t_start);
  }
  const QuantOptions opt = quant_options(config);
  const CheckpointFormat format = checkpoint_format(config);
  schema::CalibrationConfigT calib_config;
  if (config.calibration) calib_config = *config.calibration;
  // The writer refuses an existing out_dir before any work is done.
  io::GptqCheckpointWriter writer(source, config, out_dir, {options.overwrite, 5'000'000'000});

  const CalibrationData calib = make_calibration(calib_config, source);
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
  Matrix hidden;
  {
    const model::GlobalWeights globals = model::load_global_weights(spec, source.weights());
    hidden = model::embed(spec, globals, ids, batch, seq);
  }

  const auto groups = sublayer_groups(spec, config.true_sequential);
  std::uint64_t total = 0;
  for (const auto &g : groups) total += g.size();
  total *= static_cast<std::uint64_t>(spec.num_layers);
  std::uint64_t done = 0;
  progress.report("quantize", done, total);

  schema::QuantizeReportT report = start_report(config, "cpu");
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    model::BlockWeights block = model::load_block_weights(spec, source.weights(), layer);
    const std::string prefix = model::block_prefix(*spec.arch, layer);
    for (const auto &group : groups) {
      // Hessians of this group's inputs, from a run of the block as it is now
      // (earlier groups already quantized).
      std::map<std::string, HessianAccumulator, std::less<>> hessians;
      for (const auto &name : group) {
        if (is_module_skipped(config, prefix + name)) continue;
        hessians.emplace(name, HessianAccumulator(block.linear(name).in_features, opt.hessian_fp64));
      }
      if (hessians.empty()) {
        done += group.size();
        continue;
      }
      Matrix scratch = hidden;
      model::block_forward(spec, block, scratch, batch, seq,
                           [&](std::string_view sublayer, const Matrix &input) {
                             auto it = hessians.find(sublayer);
                             if (it != hessians.end())
                               it->second.add_batch(input.data.data(), input.rows, batch);
                           });
      for (const auto &name : group) {
        const std::string full = prefix + name;
        progress.report("quantize", done, total);
        auto it = hessians.find(name);
        if (it == hessians.end()) {
          ++done;
          continue;
        }
        model::LinearWeights &lin = block.linear(name);
        const auto t0 = Clock::now();
        const std::vector<float> h = it->second.hessian();
        QuantResult r = quantize_matrix(lin.weight.data(), lin.out_features, lin.in_features, h.data(),
                                        opt, full, options.threads);
        const double secs = seconds_since(t0);
        std::optional<double> rtn_loss;
        if (options.compare_rtn) {
          const QuantResult rtn = rtn_matrix(lin.weight.data(), lin.out_features, lin.in_features, opt, full);
          rtn_loss = layer_loss(lin.weight.data(), rtn.dequant.data(), h.data(), lin.out_features,
                                lin.in_features);
        }
        add_layer_report(report, full, r, secs, rtn_loss);
        log.debug("quantize: " + full + " loss " + std::to_string(r.loss));
        writer.add_quantized(full, pack_gptq(r, format));
        lin.weight = std::move(r.dequant);
        ++done;
        it->second = HessianAccumulator(1, false);  // free the Hessian
      }
    }
    // The quantized block's output is the next block's input.
    model::block_forward(spec, block, hidden, batch, seq);
    progress.report("quantize", done, total);
  }
  writer.finish(progress);
  finish_report(report, seconds_since(t_start));
  return report;
}

}  // namespace gptq::quant
