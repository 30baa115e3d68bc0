#include "core/cpu/thread_pool.h"

#include <algorithm>
#include <exception>
#include <string>
#include <system_error>

#include "core/base/error.h"

namespace gptq {
namespace {

// Whether this thread is running a task (of any pool): a run() from inside
// one runs inline, so a worker never waits on a job that needs workers.
thread_local bool in_task = false;

class InTask {
 public:
  InTask() : outer_(in_task) { in_task = true; }
  ~InTask() { in_task = outer_; }
  InTask(const InTask &) = delete;
  InTask &operator=(const InTask &) = delete;

 private:
  bool outer_;
};

}  // namespace

struct ThreadPool::Job {
  std::int64_t count = 0;
  CallRef<void(std::int64_t)> task;
  // All below changed under ThreadPool::mutex_; `running` is also read
  // without it by the caller spinning for the last tasks.
  std::int64_t next = 0;                  // the next task to hand out
  std::atomic<std::int64_t> running{0};   // tasks handed out and not finished
  bool stopped = false;                   // a task or `between` threw: no task starts any more
  std::exception_ptr error;               // the first exception
};

namespace {

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until done() or kSpin has passed; whether done() held.
template <class Done>
bool spin_until(Done done) {
  const auto until = std::chrono::steady_clock::now() + ThreadPool::kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= until) return done();
  }
}

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  workers_.reserve(static_cast<std::size_t>(threads_ - 1));
  try {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { work(); });
  } catch (const std::system_error &e) {
    const std::size_t started = workers_.size();
    {
      std::lock_guard lock(mutex_);
      shutdown_ = true;
      work_ready_.notify_all();
    }
    for (auto &w : workers_) w.join();
    fail(Status::OutOfMemory, "cannot start " + std::to_string(threads_) + " CPU threads (the system refused thread " +
                                  std::to_string(started + 1) + ": " + e.what() + ")");
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    shutdown_ = true;
    work_ready_.notify_all();
  }
  for (auto &w : workers_) w.join();
}

void ThreadPool::unlist(Job &job) {
  const auto it = std::find(jobs_.begin(), jobs_.end(), &job);
  if (it != jobs_.end()) jobs_.erase(it);
  listed_ = jobs_.size();
}

void ThreadPool::stop(Job &job) {
  if (job.stopped) return;
  job.stopped = true;
  unlist(job);
}

void ThreadPool::execute(Job &job, std::int64_t i) {
  try {
    const InTask mark;
    job.task(i);
  } catch (...) {
    std::lock_guard lock(mutex_);
    if (!job.error) job.error = std::current_exception();
    stop(job);
  }
}

void ThreadPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (jobs_.empty() && !shutdown_) {
      lock.unlock();
      spin_until([&] { return listed_.load(std::memory_order_acquire) > 0 || shutdown_.load(); });
      lock.lock();
    }
    work_ready_.wait(lock, [&] { return shutdown_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // shut down, nothing left to take
    Job &job = *jobs_.front();
    const std::int64_t i = job.next++;
    if (job.next == job.count) {
      jobs_.pop_front();
      listed_ = jobs_.size();
    }
    ++job.running;
    lock.unlock();
    execute(job, i);
    lock.lock();
    // The job's caller waits for this; once it sees running == 0 with no task
    // left to take, it returns and the job is gone: touch it no more.
    if (--job.running == 0 && (job.stopped || job.next == job.count)) task_done_.notify_all();
  }
}

void ThreadPool::run(std::int64_t count, CallRef<void(std::int64_t)> task, CallRef<void()> between) {
  if (count <= 0) return;
  if (in_task) {
    for (std::int64_t i = 0; i < count; ++i) task(i);
    return;
  }
  if (threads_ == 1 || count == 1) {  // nothing to share: no task marks, so a nested run may use the pool
    for (std::int64_t i = 0; i < count; ++i) {
      task(i);
      if (between) between();
    }
    return;
  }
  Job job;
  job.count = count;
  job.task = task;
  {
    // Notified with the lock held: helgrind then has nothing to say.
    std::lock_guard lock(mutex_);
    jobs_.push_back(&job);
    listed_ = jobs_.size();
    if (count - 1 >= static_cast<std::int64_t>(workers_.size())) {
      work_ready_.notify_all();
    } else {
      for (std::int64_t i = 0; i < count - 1; ++i) work_ready_.notify_one();
    }
  }
  auto poll = [&] {
    if (!between) return;
    try {
      between();
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!job.error) job.error = std::current_exception();
      stop(job);
    }
  };
  std::unique_lock lock(mutex_);
  while (!job.stopped && job.next < job.count) {
    const std::int64_t i = job.next++;
    if (job.next == job.count) unlist(job);
    ++job.running;
    lock.unlock();
    execute(job, i);
    poll();
    lock.lock();
    --job.running;
  }
  if (job.running > 0) {
    lock.unlock();
    spin_until([&] { return job.running.load(std::memory_order_acquire) == 0; });
    lock.lock();
  }
  while (job.running > 0) {
    if (!between || job.stopped) {
      task_done_.wait(lock, [&] { return job.running == 0; });
      break;
    }
    task_done_.wait_for(lock, kWaitPoll, [&] { return job.running == 0; });
    if (job.running == 0) break;
    lock.unlock();
    poll();
    lock.lock();
  }
  unlist(job);
  lock.unlock();
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace gptq
