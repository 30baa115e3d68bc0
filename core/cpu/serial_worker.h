// One thread of its own that runs tasks in the order they were given, beside
// the caller — the quantize pipeline reads the next block ahead and packs and
// writes finished layers behind on such threads while the engines compute
// (at 7B on the H200 machine, reading took 27 and packing and writing 16 of
// 111 s with the GPU waiting). At most max_queued tasks wait: submit() blocks
// while that many do, so what they hold stays bounded. A task that throws
// stops the worker: its exception is rethrown by the next submit() or wait(),
// and the tasks still queued are dropped. Used from one thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace gptq {

class SerialWorker {
 public:
  // Throws Error(OutOfMemory) when the system refuses a thread.
  explicit SerialWorker(std::size_t max_queued);
  // Drops the queued tasks, lets the running one finish, joins.
  ~SerialWorker();
  SerialWorker(const SerialWorker &) = delete;
  SerialWorker &operator=(const SerialWorker &) = delete;

  void submit(std::function<void()> task);
  // Returns once every task submitted so far has run.
  void wait();

 private:
  void run();
  void rethrow_failure_locked();

  const std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false, stop_ = false;
  std::exception_ptr failure_;
  std::thread thread_;
};

}  // namespace gptq
