#include "core/cpu/serial_worker.h"

#include <string>
#include <system_error>
#include <utility>

#include "core/base/error.h"

namespace gptq {

SerialWorker::SerialWorker(std::size_t max_queued) : max_queued_(max_queued < 1 ? 1 : max_queued) {
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error &e) {
    fail(Status::OutOfMemory, std::string("could not start a worker thread: ") + e.what());
  }
}

SerialWorker::~SerialWorker() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  thread_.join();
}

void SerialWorker::rethrow_failure_locked() {
  if (failure_) std::rethrow_exception(failure_);
}

void SerialWorker::submit(std::function<void()> task) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return failure_ || queue_.size() < max_queued_; });
  rethrow_failure_locked();
  queue_.push_back(std::move(task));
  lock.unlock();
  changed_.notify_all();
}

void SerialWorker::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return failure_ || (queue_.empty() && !busy_); });
  rethrow_failure_locked();
}

void SerialWorker::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    changed_.notify_all();  // room in the queue
    std::exception_ptr failed;
    try {
      task();
    } catch (...) {
      failed = std::current_exception();
    }
    task = nullptr;  // what it held goes before the next one starts
    lock.lock();
    busy_ = false;
    if (failed) {
      failure_ = failed;
      queue_.clear();
    }
    changed_.notify_all();
    if (failed) return;
  }
}

}  // namespace gptq
