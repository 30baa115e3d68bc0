// Progress: how long work reports how far it is, and learns that it should
// stop. When the caller's callback asks to stop, report() throws
// Error(Cancelled) and RAII cleans up what was half done. The callback is
// only ever called on the thread that called the library: pool workers
// never report (core/cpu/thread_pool.h).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "core/base/error.h"

namespace gptq {

class Progress {
 public:
  // Returns true to go on, false to cancel.
  using Callback = std::function<bool(std::string_view stage, uint64_t done, uint64_t total)>;

  Progress() = default;
  explicit Progress(Callback callback) : callback_(std::move(callback)) {}

  // Tells the callback (if any) that `done` of `total` units of `stage` are
  // done; total 0 means unknown. Throws Error(Cancelled) if it asks to stop.
  void report(std::string_view stage, uint64_t done, uint64_t total) const {
    if (callback_ && !callback_(stage, done, total)) {
      fail(Status::Cancelled, std::string("cancelled by the progress callback during ") +
                                  std::string(stage));
    }
  }

  bool has_callback() const noexcept { return static_cast<bool>(callback_); }

 private:
  Callback callback_;
};

// One stage of long work whose total is known before it starts, told to a
// Progress as the work goes on.
//
// Work is counted in steps: begin_step(units) .. end_step() adds `units` to
// done. Inside a step, fraction(f) moves the count within the step's units
// (done + floor(units * f), f never going back), and a Range narrows where
// the fractions of a part of the step land, so a routine reports its own
// fractions without knowing the step it is part of. poll() hands the count to
// the callback when kInterval has passed since it last did, or when the count
// has grown by total / kReportsPerStage since; start() (0 of total: the
// Compute the meter is given to calls it once it holds OpenBLAS),
// end_step() and finish() always do. The callback thus sees `done` rise from
// 0 to `total`, `total` the same in every call, and is called at least every
// kInterval while the work polls (how soon a cancel is noticed) and, on any
// machine, at least once per 1/kReportsPerStage of the work that reports
// fractions. Calling thread only.
class ProgressMeter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kInterval{50};
  static constexpr uint64_t kReportsPerStage = 200;

  ProgressMeter(const Progress &progress, std::string stage, uint64_t total)
      : progress_(progress), stage_(std::move(stage)), total_(total) {}

  // Reports 0 of `total`: the stage begins.
  void start() { send(); }

  void begin_step(uint64_t units) {
    step_ = units;
    fraction_ = 0.0;
    lo_ = 0.0;
    hi_ = 1.0;
  }
  void end_step() {
    done_ += step_;
    step_ = 0;
    fraction_ = 0.0;
    send();
  }
  // f in [0, 1] of the current range; a smaller f than before is ignored.
  void fraction(double f) {
    const double g = lo_ + std::clamp(f, 0.0, 1.0) * (hi_ - lo_);
    fraction_ = std::max(fraction_, g);
  }
  void poll() {
    if (!progress_.has_callback()) return;
    if (current() >= reported_ + total_ / kReportsPerStage + 1 || Clock::now() - last_ >= kInterval) send();
  }
  // Reports done == total: the stage is over.
  void finish() {
    done_ = total_;
    step_ = 0;
    send();
  }

  uint64_t done() const noexcept { return done_; }
  uint64_t total() const noexcept { return total_; }

  // While alive, fractions given to the meter are fractions of [lo, hi] of
  // the range that was current when it was made.
  class Range {
   public:
    Range(ProgressMeter *meter, double lo, double hi) : meter_(meter) {
      if (!meter_) return;
      outer_lo_ = meter_->lo_;
      outer_hi_ = meter_->hi_;
      const double w = outer_hi_ - outer_lo_;
      meter_->lo_ = outer_lo_ + w * lo;
      meter_->hi_ = outer_lo_ + w * hi;
    }
    ~Range() {
      if (!meter_) return;
      meter_->fraction(1.0);
      meter_->lo_ = outer_lo_;
      meter_->hi_ = outer_hi_;
    }
    Range(const Range &) = delete;
    Range &operator=(const Range &) = delete;

   private:
    ProgressMeter *meter_;
    double outer_lo_ = 0.0, outer_hi_ = 1.0;
  };

 private:
  uint64_t current() const {
    const auto within = static_cast<uint64_t>(std::floor(static_cast<double>(step_) * fraction_));
    return std::min(total_ > 0 ? total_ : UINT64_MAX, done_ + std::min(within, step_));
  }
  void send() {
    last_ = Clock::now();
    reported_ = std::max(reported_, current());
    progress_.report(stage_, reported_, total_);
  }

  const Progress &progress_;
  std::string stage_;
  uint64_t total_;
  uint64_t done_ = 0;
  uint64_t step_ = 0;
  double fraction_ = 0.0;
  double lo_ = 0.0, hi_ = 1.0;
  uint64_t reported_ = 0;
  Clock::time_point last_;
};

}  // namespace gptq
