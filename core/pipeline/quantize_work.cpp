#include "core/pipeline/quantize_work.h"

#include <numeric>

#include "core/base/error.h"
#include "core/model/architecture.h"
#include "core/model/expected_tensors.h"
#include "core/gptq_format/checkpoint_format.h"
#include "core/gptq_format/modules_to_skip.h"
#include "core/pipeline/options_from_config.h"
#include "core/quant/work_estimate.h"

namespace gptq::quant {
namespace {

std::uint64_t units(std::uint64_t work) { return work == 0 ? 0 : (work + kWorkUnit - 1) / kWorkUnit; }

}  // namespace

QuantizeWork::QuantizeWork(const model::ModelSpec &spec, const schema::QuantizeConfigT &config, std::int64_t batch,
                           std::int64_t seq) {
  const std::int64_t tokens = batch * seq;
  const bool rtn = config.method == schema::QuantizeMethod::rtn;
  const auto &groups = spec.arch->sequential_groups;
  // Every block has the same shapes: read them from block 0's expected tensors.
  const std::vector<model::ExpectedTensor> tensors = model::expected_tensors(spec);
  std::vector<std::int64_t> in, out;
  for (const auto &group : groups) {
    for (std::string_view name : group) {
      const std::string weight = model::block_prefix(*spec.arch, 0) + std::string(name) + ".weight";
      std::int64_t i = 0, o = 0;
      for (const auto &t : tensors)
        if (t.name == weight && t.shape.size() == 2) {
          o = t.shape[0];
          i = t.shape[1];
        }
      if (i <= 0 || o <= 0) fail(Status::Internal, "no 2-D weight " + weight + " in the architecture's tensors");
      names_.emplace_back(name);
      in.push_back(i);
      out.push_back(o);
    }
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    std::uint64_t work = 0;
    for (std::string_view name : groups[g]) work += linear_work(tokens, in[index(name)], out[index(name)]);
    if (g == 0)
      work += attention_work(batch, seq, spec.num_heads, spec.head_dim) +
              block_elementwise_work(tokens, spec.hidden_size, spec.intermediate_size);
    forward_.push_back(rtn ? 0 : units(work));
  }
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    const std::string prefix = model::block_prefix(*spec.arch, layer);
    auto &h = hessian_.emplace_back(groups.size(), 0);
    auto &s = solve_.emplace_back(names_.size(), 0);
    auto &r = rtn_.emplace_back(names_.size(), 0);
    for (std::size_t g = 0; g < groups.size(); ++g) {
      bool any = false;
      for (std::string_view name : groups[g]) {
        const std::size_t i = index(name);
        if (is_module_skipped(config, prefix + std::string(name))) continue;
        any = true;
        const SolveWork sw = solve_work(in[i], out[i]);
        std::uint64_t work = sw.factor + sw.blocks;
        if (config.compare_rtn) work += rtn_work(in[i], out[i]) + layer_loss_work(in[i], out[i]);
        s[i] = rtn ? 0 : units(work);
        r[i] = rtn ? units(rtn_work(in[i], out[i])) : 0;
      }
      h[g] = any && !rtn ? units(hessian_work(in[index(groups[g].front())], tokens, config.hessian_fp64)) : 0;
    }
    for (std::size_t g = 0; g < groups.size(); ++g) total_ += forward_[g] + h[g];
    for (std::size_t i = 0; i < names_.size(); ++i) total_ += s[i] + r[i];
    if (!rtn && !config.true_sequential) total_ += block_forward();
  }
}

std::size_t QuantizeWork::index(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return i;
  fail(Status::Internal, "no sublayer " + std::string(name) + " in the architecture");
}

std::uint64_t QuantizeWork::block_forward() const {
  return std::accumulate(forward_.begin(), forward_.end(), std::uint64_t{0});
}

std::uint64_t QuantizeWork::hessian(std::int64_t layer, std::size_t g) const {
  return hessian_.at(static_cast<std::size_t>(layer)).at(g);
}

std::uint64_t QuantizeWork::solve(std::int64_t layer, std::string_view name) const {
  return solve_.at(static_cast<std::size_t>(layer))[index(name)];
}

std::uint64_t QuantizeWork::rtn(std::int64_t layer, std::string_view name) const {
  return rtn_.at(static_cast<std::size_t>(layer))[index(name)];
}

}  // namespace gptq::quant
