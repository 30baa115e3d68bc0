// Filling the schema's QuantizeReport (what gptq_quantize_model returns as
// JSON) as the pipeline goes: one LayerReport per quantized linear with the
// solver's loss and damping and the layer's wall-clock time, then the totals
// and where the time went (PhaseClock).
// Kept apart from the pipeline so the report's meaning is defined once.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/quant/quant_result.h"
#include "schema/gptq_generated.h"

namespace gptq::quant {

// Wall-clock time since construction (or the last restart), in seconds.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  void restart() { start_ = std::chrono::steady_clock::now(); }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// The phases of schema::QuantizePhases, and Other for what none of them names.
enum class Phase { Other, Read, Calibration, Forward, Hessian, Solve, Pack, Write, Factor };

// Splits a run's wall-clock time into phases: a scope charges the time spent
// inside it to its phase, less the time of the scopes opened inside it (a
// true-sequential block's forward pass runs Hessians and solves from its
// observer), so each moment counts in one phase only and the phases sum to
// the clock's lifetime. One thread.
class PhaseClock {
 public:
  class Scope {
   public:
    Scope(PhaseClock &clock, Phase phase) : clock_(clock), outer_(clock.switch_to(phase)) {}
    ~Scope() { clock_.switch_to(outer_); }
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;

   private:
    PhaseClock &clock_;
    Phase outer_;
  };

  PhaseClock() : since_(std::chrono::steady_clock::now()) {}
  // Time from now until the scope ends goes to `phase`.
  [[nodiscard]] Scope scope(Phase phase) { return Scope(*this, phase); }
  // Seconds charged to `phase` so far (the running phase's up to its last switch).
  double seconds(Phase phase) const { return seconds_[static_cast<std::size_t>(phase)]; }
  // Moves `seconds` (at most what `from` holds) from `from` to `to`, for a
  // part an engine timed inside a scope (the Cholesky of a solve).
  void transfer(Phase from, Phase to, double seconds);

 private:
  // Charges the time since the last switch to the running phase; returns it.
  Phase switch_to(Phase next);

  Phase current_ = Phase::Other;
  std::chrono::steady_clock::time_point since_;
  std::array<double, 9> seconds_{};
};

// A report holding a copy of the config (every default already filled in by
// the parser) and the backend's name ("cpu" or "cuda"), with no layers yet.
schema::QuantizeReportT start_report(const schema::QuantizeConfigT &config, std::string backend);

// Appends the layer `name` (the tensor prefix, e.g.
// "model.layers.3.self_attn.q_proj"): loss and damp_percent from `result`,
// the seconds it took, and the RTN loss on the same inputs when compared.
// Returns the entry. Throws InvalidArgument for a non-finite loss or
// seconds, or an empty name (a report must be valid to serialize).
schema::LayerReportT &add_layer_report(schema::QuantizeReportT &report, std::string name,
                                       const QuantResult &result, double seconds,
                                       std::optional<double> rtn_loss = std::nullopt);

// Sets the total seconds and the peak resident memory of the process.
void finish_report(schema::QuantizeReportT &report, double seconds);

// Sets the report's phases from `clock` (every scope closed).
void set_phases(schema::QuantizeReportT &report, const PhaseClock &clock);

// Peak resident set size of this process so far, in bytes (0 if unknown):
// /proc/self/status VmHWM where there is one (not counting what the process
// held before it exec'd this program), else getrusage.
std::uint64_t peak_rss_bytes();

}  // namespace gptq::quant
