#include "core/pipeline/quantize_work.h"

#include "core/base/error.h"
#include "core/gptq_format/modules_to_skip.h"
#include "core/model/architecture.h"
#include "core/model/linear_shapes.h"
#include "core/pipeline/calibration_chunks.h"
#include "core/quant/work_estimate.h"

namespace gptq::quant {
namespace {

std::uint64_t units(std::uint64_t work) { return work == 0 ? 0 : (work + kWorkUnit - 1) / kWorkUnit; }

}  // namespace

QuantizeWork::QuantizeWork(const model::ModelSpec &spec, const schema::QuantizeConfigT &config, std::int64_t batch,
                           std::int64_t seq, std::int64_t chunk_windows)
    : rtn_method_(config.method == schema::QuantizeMethod::rtn),
      fp64_(config.hessian_fp64),
      batch_(batch),
      seq_(seq),
      heads_(spec.num_heads),
      head_dim_(spec.head_dim),
      hidden_(spec.hidden_size),
      intermediate_(spec.intermediate_size) {
  const auto &groups = spec.arch->sequential_groups;
  for (const model::LinearShape &s : model::block_linear_shapes(spec)) {
    names_.push_back(s.name);
    in_.push_back(s.in);
    out_.push_back(s.out);
  }
  for (const auto &group : groups) groups_.emplace_back(group.begin(), group.end());
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    const std::string prefix = model::block_prefix(*spec.arch, layer);
    auto &h = has_hessian_.emplace_back(groups.size(), false);
    auto &s = solve_.emplace_back(names_.size(), 0);
    auto &r = rtn_.emplace_back(names_.size(), 0);
    for (std::size_t g = 0; g < groups.size(); ++g) {
      for (std::string_view name : groups[g]) {
        const std::size_t i = index(name);
        if (is_module_skipped(config, prefix + std::string(name))) continue;
        h[g] = !rtn_method_;
        const SolveWork sw = solve_work(in_[i], out_[i]);
        std::uint64_t work = sw.factor + sw.blocks;
        if (config.compare_rtn) work += rtn_work(in_[i], out_[i]) + layer_loss_work(in_[i], out_[i]);
        s[i] = rtn_method_ ? 0 : units(work);
        r[i] = rtn_method_ ? units(rtn_work(in_[i], out_[i])) : 0;
      }
    }
    for (std::size_t i = 0; i < names_.size(); ++i) total_ += s[i] + r[i];
    if (rtn_method_) continue;
    const CalibrationChunks chunks{batch, chunk_windows > 0 && chunk_windows < batch ? chunk_windows : batch};
    if (!chunks.chunked()) {
      for (std::size_t g = 0; g < groups.size(); ++g) total_ += forward(g) + hessian(layer, g);
      if (!config.true_sequential) total_ += block_forward();
      continue;
    }
    for (std::int64_t c = 0; c < chunks.count(); ++c) {
      const std::int64_t w = chunks.windows(c);
      total_ += block_forward(w);  // the pass that keeps the outputs
      for (std::size_t g = 0; g < groups.size(); ++g) {
        total_ += hessian(layer, g, w);
        // Group g's own pass: the forward steps up to its input.
        if (config.true_sequential && h[g])
          for (std::size_t before = 0; before < g; ++before) total_ += forward(before, w);
      }
      // Not true-sequential: one pass up to the last group's input.
      if (!config.true_sequential)
        for (std::size_t g = 0; g + 1 < groups.size(); ++g) total_ += forward(g, w);
    }
  }
}

std::size_t QuantizeWork::index(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return i;
  fail(Status::Internal, "no sublayer " + std::string(name) + " in the architecture");
}

std::uint64_t QuantizeWork::forward(std::size_t g, std::int64_t windows) const {
  if (rtn_method_) return 0;
  const std::int64_t tokens = windows * seq_;
  std::uint64_t work = 0;
  for (const std::string &name : groups_.at(g)) work += linear_work(tokens, in_[index(name)], out_[index(name)]);
  if (g == 0)
    work += attention_work(windows, seq_, heads_, head_dim_) + block_elementwise_work(tokens, hidden_, intermediate_);
  return units(work);
}

std::uint64_t QuantizeWork::block_forward(std::int64_t windows) const {
  std::uint64_t sum = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) sum += forward(g, windows);
  return sum;
}

std::uint64_t QuantizeWork::hessian(std::int64_t layer, std::size_t g, std::int64_t windows) const {
  if (!has_hessian_.at(static_cast<std::size_t>(layer)).at(g)) return 0;
  return units(hessian_work(in_[index(groups_[g].front())], windows * seq_, fp64_));
}

std::uint64_t QuantizeWork::solve(std::int64_t layer, std::string_view name) const {
  return solve_.at(static_cast<std::size_t>(layer))[index(name)];
}

std::uint64_t QuantizeWork::rtn(std::int64_t layer, std::string_view name) const {
  return rtn_.at(static_cast<std::size_t>(layer))[index(name)];
}

}  // namespace gptq::quant
