// Packs quantized layers and hands them to the checkpoint writer on a thread
// of its own, in the order they were added, while the pipeline goes on with
// the next layers: at 7B on the H200 machine packing and writing took 16 of
// 83 s with the GPU waiting. At most a few layers wait in the queue (add
// blocks while it is full), so memory stays bounded; a failure of the thread
// is rethrown by the next add() or by drain(). Used from one thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "core/gptq_format/checkpoint_format.h"
#include "core/gptq_format/gptq_checkpoint_writer.h"
#include "core/quant/quant_result.h"

namespace gptq::quant {

class BackgroundWriter {
 public:
  BackgroundWriter(io::GptqCheckpointWriter &writer, CheckpointFormat format);
  // Stops after the layer in hand, dropping the queue (the run failed or was
  // cancelled; the writer's destructor then discards what was staged).
  ~BackgroundWriter();
  BackgroundWriter(const BackgroundWriter &) = delete;
  BackgroundWriter &operator=(const BackgroundWriter &) = delete;

  // Queues layer `name`'s result (its dequantized weights are not needed).
  void add(std::string name, QuantResult result);
  // Returns once every queued layer is written.
  void drain();

 private:
  void run();
  void rethrow_failure();

  struct Job {
    std::string name;
    QuantResult result;
  };
  static constexpr std::size_t kMaxQueued = 4;
  io::GptqCheckpointWriter &writer_;
  CheckpointFormat format_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> queue_;
  bool busy_ = false, stop_ = false;
  std::exception_ptr failure_;
  std::thread thread_;
};

}  // namespace gptq::quant
