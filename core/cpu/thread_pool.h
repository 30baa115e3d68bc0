// A context's CPU threads: `threads - 1` workers that live as long as the pool,
// plus whichever thread calls run(), which works on its own job too.
//
// A job is a list of independent tasks (task(i) for i in [0, count)), taken in
// index order by whichever thread is free. Which thread runs which task never
// matters to a result: callers cut their work into tasks by its shape alone,
// so results do not depend on the thread count (core/cpu/compute.h).
//
// Several threads may run jobs on one pool at once (sessions of one context
// generating on their own threads): the workers serve the oldest job first,
// and each caller works on its own job until it is done, so no caller waits
// for another's tasks. A task that itself calls run() (on any pool) runs
// those tasks inline, in order, on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace gptq {

// A non-owning reference to a callable, valid while the callable lives.
template <class Signature>
class CallRef;

template <class R, class... Args>
class CallRef<R(Args...)> {
 public:
  CallRef() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, CallRef>>>
  CallRef(F &&f)  // NOLINT(google-explicit-constructor): used like a function parameter
      : object_(const_cast<void *>(static_cast<const void *>(&f))),
        call_([](void *o, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F> *>(o))(std::forward<Args>(args)...);
        }) {}
  explicit operator bool() const { return call_ != nullptr; }
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void *object_ = nullptr;
  R (*call_)(void *, Args...) = nullptr;
};

class ThreadPool {
 public:
  // Starts threads - 1 workers (threads >= 1). Throws Error(OutOfMemory)
  // naming the count when the system refuses a thread.
  explicit ThreadPool(int threads);
  // Stops and joins the workers. No run() may be in progress.
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  // The threads a job may run on: the workers and the caller.
  int threads() const noexcept { return threads_; }

  // Runs task(i) for every i in [0, count) and returns when all have run.
  // `between` (may be empty) is called on the calling thread after each task
  // it ran and about every kWaitPoll while it waits for the workers' last
  // tasks: where the caller polls its progress callback. When a task or
  // `between` throws, no further task of the job starts, and the first
  // exception is rethrown once the tasks already running have ended. Inside
  // a task, runs the tasks inline without calling `between`.
  void run(std::int64_t count, CallRef<void(std::int64_t)> task, CallRef<void()> between = {});

  // How often a caller waiting for workers calls `between`.
  static constexpr auto kWaitPoll = std::chrono::milliseconds(10);
  // How long an idle worker, and a caller waiting for the workers' last
  // tasks, keep checking before they sleep: a decode step runs dozens of
  // small jobs back to back, and waking a sleeping thread costs tens of
  // microseconds each time (OpenBLAS's own threads spin far longer).
  static constexpr auto kSpin = std::chrono::microseconds(100);

 private:
  struct Job;
  void work();
  // Runs task i of `job` on this thread (mutex_ not held); an exception
  // stops the job and is kept for its caller.
  void execute(Job &job, std::int64_t i);
  void stop(Job &job);  // mutex_ held
  void unlist(Job &job);  // mutex_ held

  int threads_;
  std::mutex mutex_;
  std::condition_variable work_ready_;  // workers: a job has tasks to take, or shutdown
  std::condition_variable task_done_;   // callers: a job's last running task ended
  std::deque<Job *> jobs_;              // jobs with tasks not yet taken, oldest first
  std::atomic<std::size_t> listed_{0};  // jobs_.size(), for workers spinning without the lock
  std::atomic<bool> shutdown_{false};
  std::vector<std::thread> workers_;
};

}  // namespace gptq
