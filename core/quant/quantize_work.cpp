#include "core/quant/quantize_work.h"

#include <numeric>

#include "core/error.h"
#include "core/model/architecture.h"
#include "core/model/expected_tensors.h"
#include "core/quant/options_from_config.h"
#include "core/quant/work_estimate.h"

namespace gptq::quant {
namespace {

std::uint64_t units(std::uint64_t work) { return work == 0 ? 0 : (work + kWorkUnit - 1) / kWorkUnit; }

}  // namespace

QuantizeWork::QuantizeWork(const model::ModelSpec &spec, const schema::QuantizeConfigT &config, std::int64_t batch,
                           std::int64_t seq)
    : spec_(spec), config_(config), tokens_(batch * seq) {
  // Every block has the same shapes: read them from block 0's expected tensors.
  const std::string prefix = model::block_prefix(*spec.arch, 0);
  const std::vector<model::ExpectedTensor> tensors = model::expected_tensors(spec);
  for (const auto &group : spec.arch->sequential_groups) {
    for (std::string_view name : group) {
      Linear l{std::string(name)};
      const std::string weight = prefix + std::string(name) + ".weight";
      for (const auto &t : tensors)
        if (t.name == weight && t.shape.size() == 2) {
          l.out = t.shape[0];
          l.in = t.shape[1];
        }
      if (l.in <= 0 || l.out <= 0) fail(Status::Internal, "no 2-D weight " + weight + " in the architecture's tensors");
      linears_.push_back(std::move(l));
    }
  }
  const auto &groups = spec.arch->sequential_groups;
  const bool rtn = config.method == schema::QuantizeMethod::rtn;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    std::uint64_t work = 0;
    for (std::string_view name : groups[g]) work += linear_work(tokens_, linear(name).in, linear(name).out);
    if (g == 0)
      work += attention_work(batch, seq, spec.num_heads, spec.head_dim) +
              block_elementwise_work(tokens_, spec.hidden_size, spec.intermediate_size);
    forward_.push_back(rtn ? 0 : units(work));
  }
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (rtn) {
        for (std::string_view name : groups[g]) total_ += this->rtn(layer, name);
        continue;
      }
      total_ += forward_[g] + hessian(layer, g);
      for (std::string_view name : groups[g]) total_ += solve(layer, name);
    }
    if (!rtn && !config.true_sequential) total_ += block_forward();
  }
}

const QuantizeWork::Linear &QuantizeWork::linear(std::string_view name) const {
  for (const Linear &l : linears_)
    if (l.name == name) return l;
  fail(Status::Internal, "no sublayer " + std::string(name) + " in the architecture");
}

bool QuantizeWork::skipped(std::int64_t layer, std::string_view name) const {
  return is_module_skipped(config_, model::block_prefix(*spec_.arch, layer) + std::string(name));
}

std::uint64_t QuantizeWork::block_forward() const { return std::accumulate(forward_.begin(), forward_.end(), std::uint64_t{0}); }

std::uint64_t QuantizeWork::hessian(std::int64_t layer, std::size_t g) const {
  const auto &group = spec_.arch->sequential_groups[g];
  bool all_skipped = true;
  for (std::string_view name : group) all_skipped = all_skipped && skipped(layer, name);
  if (all_skipped) return 0;
  return units(hessian_work(linear(group.front()).in, tokens_, config_.hessian_fp64));
}

std::uint64_t QuantizeWork::solve(std::int64_t layer, std::string_view name) const {
  if (skipped(layer, name)) return 0;
  const Linear &l = linear(name);
  const SolveWork s = solve_work(l.in, l.out);
  std::uint64_t work = s.factor + s.blocks;
  if (config_.compare_rtn) work += rtn_work(l.in, l.out) + layer_loss_work(l.in, l.out);
  return units(work);
}

std::uint64_t QuantizeWork::rtn(std::int64_t layer, std::string_view name) const {
  if (skipped(layer, name)) return 0;
  return units(rtn_work(linear(name).in, linear(name).out));
}

}  // namespace gptq::quant
