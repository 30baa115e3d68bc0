// What one library call's CPU work runs on: the context's ThreadPool,
// OpenBLAS held at one thread for as long as the Compute lives
// (core/cpu/single_threaded_blas.h), and the call's ProgressMeter, if it has
// one. Every function that calls BLAS or runs on threads takes a Compute;
// nothing reads a thread count from anywhere else.
//
// Results never depend on the thread count: work is cut into tasks by its
// shape alone (fixed tiles and row chunks), each task computes its outputs
// the same way whichever thread runs it, and partial sums are added in task
// order. One thread gives the same bits as sixteen.
//
// Cancellation: the calling thread polls the meter between the tasks it runs
// and while it waits for the workers (ThreadPool::run's `between`), and
// routines poll as they report their progress between their steps. Tasks are kept small (tens of
// milliseconds), so a cancel is noticed well within a second.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "core/cpu/single_threaded_blas.h"
#include "core/cpu/thread_pool.h"
#include "core/base/progress.h"

namespace gptq {

class Compute {
 public:
  // Made on the thread that will call for_each(); `meter` may be null, and
  // is started (0 of its total reported) once OpenBLAS is held.
  explicit Compute(ThreadPool &pool, ProgressMeter *meter = nullptr)
      : pool_(&pool), meter_(meter), owner_(std::this_thread::get_id()) {
    if (meter_) meter_->start();
  }
  Compute(const Compute &) = delete;
  Compute &operator=(const Compute &) = delete;

  int threads() const noexcept { return pool_->threads(); }

  // task(i) for every i in [0, count), on the pool (ThreadPool::run), the
  // calling thread polling the meter between tasks.
  template <class Task>
  void for_each(std::int64_t count, Task &&task) const {
    auto run = [&task](std::int64_t i) { task(i); };
    auto between = [this] { poll(); };
    if (meter_) {
      pool_->run(count, run, between);
    } else {
      pool_->run(count, run);
    }
  }

  // The same, and the share of tasks finished is the fraction done of the
  // meter's current range: for a routine that is one pool run (a Hessian's
  // syrk), whose caller gives it a range of its own.
  template <class Task>
  void for_each_reporting(std::int64_t count, Task &&task) const {
    if (!meter_) {
      for_each(count, task);
      return;
    }
    std::atomic<std::int64_t> finished{0};
    auto run = [&](std::int64_t i) {
      task(i);
      finished.fetch_add(1, std::memory_order_relaxed);
    };
    auto between = [&] {
      if (count > 0) progress(static_cast<double>(finished.load(std::memory_order_relaxed)) / static_cast<double>(count));
    };
    pool_->run(count, run, between);
    progress(1.0);
  }

  // On the thread that made this Compute: hands the meter's count to the
  // callback when it is due; Error(Cancelled) when the callback asks to stop.
  // Anywhere else (a pool worker): nothing.
  void poll() const {
    if (meter_ && std::this_thread::get_id() == owner_) meter_->poll();
  }

  // `f` of the meter's current range is done (calling thread only; see
  // ProgressMeter::fraction), then poll().
  void progress(double f) const {
    if (!meter_ || std::this_thread::get_id() != owner_) return;
    meter_->fraction(f);
    meter_->poll();
  }

  // Fractions reported while the result lives land in [lo, hi] of the
  // current range (ProgressMeter::Range).
  ProgressMeter::Range part(double lo, double hi) const {
    return ProgressMeter::Range(std::this_thread::get_id() == owner_ ? meter_ : nullptr, lo, hi);
  }

  ProgressMeter *meter() const noexcept { return meter_; }

 private:
  ThreadPool *pool_;
  ProgressMeter *meter_;
  std::thread::id owner_;
  SingleThreadedBlas blas_;
};

}  // namespace gptq
