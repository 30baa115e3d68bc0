#include "core/pipeline/quantize_report.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "core/base/error.h"

namespace gptq::quant {
namespace {

void require_finite(double v, const std::string &what) {
  if (!std::isfinite(v) || v < 0)
    fail(Status::InvalidArgument, "quantize report: " + what + " is " + std::to_string(v) +
                                      " (must be finite and >= 0)");
}

}  // namespace

schema::QuantizeReportT start_report(const schema::QuantizeConfigT &config, std::string backend) {
  schema::QuantizeReportT report;
  report.config = std::make_unique<schema::QuantizeConfigT>(config);
  report.backend = std::move(backend);
  return report;
}

schema::LayerReportT &add_layer_report(schema::QuantizeReportT &report, std::string name,
                                       const QuantResult &result, double seconds,
                                       std::optional<double> rtn_loss) {
  if (name.empty()) fail(Status::InvalidArgument, "quantize report: a layer has an empty name");
  require_finite(result.loss, "the loss of layer '" + name + "'");
  require_finite(seconds, "the seconds of layer '" + name + "'");
  if (rtn_loss) require_finite(*rtn_loss, "the RTN loss of layer '" + name + "'");
  auto layer = std::make_unique<schema::LayerReportT>();
  layer->name = std::move(name);
  layer->loss = result.loss;
  layer->damp = static_cast<float>(result.damp_percent);
  layer->seconds = seconds;
  layer->rtn_loss = rtn_loss.value_or(-1.0);
  report.layers.push_back(std::move(layer));
  return *report.layers.back();
}

void finish_report(schema::QuantizeReportT &report, double seconds) {
  require_finite(seconds, "the total seconds");
  report.seconds = seconds;
  report.peak_rss_bytes = peak_rss_bytes();
}

Phase PhaseClock::switch_to(Phase next) {
  const auto now = std::chrono::steady_clock::now();
  seconds_[static_cast<std::size_t>(current_)] += std::chrono::duration<double>(now - since_).count();
  since_ = now;
  const Phase previous = current_;
  current_ = next;
  return previous;
}

void PhaseClock::transfer(Phase from, Phase to, double seconds) {
  double &source = seconds_[static_cast<std::size_t>(from)];
  const double moved = std::clamp(seconds, 0.0, source);
  source -= moved;
  seconds_[static_cast<std::size_t>(to)] += moved;
}

void set_phases(schema::QuantizeReportT &report, const PhaseClock &clock) {
  auto p = std::make_unique<schema::QuantizePhasesT>();
  const std::pair<double *, Phase> slots[] = {{&p->read, Phase::Read},       {&p->calibration, Phase::Calibration},
                                              {&p->forward, Phase::Forward}, {&p->hessian, Phase::Hessian},
                                              {&p->solve, Phase::Solve},     {&p->pack, Phase::Pack},
                                              {&p->write, Phase::Write},     {&p->factor, Phase::Factor}};
  for (const auto &[slot, phase] : slots) {
    *slot = clock.seconds(phase);
    require_finite(*slot, "a phase's seconds");
  }
  report.phases = std::move(p);
}

std::uint64_t peak_rss_bytes() {
  // VmHWM is the peak of this program's own memory. getrusage's ru_maxrss
  // also keeps the peak from before exec: a CLI started by a 2.4 GB Python
  // process (torch loaded) reported 2.4 GB for a run whose peak was 0.9 GB.
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    std::uint64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0 || usage.ru_maxrss < 0) return 0;
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace gptq::quant
