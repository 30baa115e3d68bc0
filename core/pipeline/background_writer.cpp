#include "core/pipeline/background_writer.h"

#include <utility>

#include "core/pipeline/pack_result.h"

namespace gptq::quant {

BackgroundWriter::BackgroundWriter(io::GptqCheckpointWriter &writer, CheckpointFormat format)
    : writer_(writer), format_(format), thread_([this] { run(); }) {}

BackgroundWriter::~BackgroundWriter() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  thread_.join();
}

void BackgroundWriter::rethrow_failure() {
  if (failure_) std::rethrow_exception(failure_);
}

void BackgroundWriter::add(std::string name, QuantResult result) {
  result.dequant = {};  // the pipeline keeps its own; the checkpoint needs none
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return failure_ || queue_.size() < kMaxQueued; });
  rethrow_failure();
  queue_.push_back({std::move(name), std::move(result)});
  lock.unlock();
  changed_.notify_all();
}

void BackgroundWriter::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return failure_ || (queue_.empty() && !busy_); });
  rethrow_failure();
}

void BackgroundWriter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    changed_.notify_all();  // room in the queue
    std::exception_ptr failed;
    try {
      writer_.add_quantized(job.name, pack_gptq(job.result, format_));
    } catch (...) {
      failed = std::current_exception();
    }
    lock.lock();
    busy_ = false;
    if (failed) failure_ = failed;
    changed_.notify_all();
    if (failed) return;  // the pipeline rethrows it and stops
  }
}

}  // namespace gptq::quant
