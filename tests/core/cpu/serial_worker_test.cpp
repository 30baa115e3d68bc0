// SerialWorker: tasks run in order on one thread beside the caller, at most
// max_queued wait, a failure surfaces at the next call and drops the rest, and
// destroying the worker drops what is queued.
#include "core/cpu/serial_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace gptq {
namespace {

TEST(SerialWorker, RunsTasksInOrderOnOneOtherThread) {
  SerialWorker worker(2);
  std::vector<int> order;  // touched by the worker only until wait()
  std::thread::id ran_on;
  for (int i = 0; i < 50; ++i)
    worker.submit([&, i] {
      order.push_back(i);
      ran_on = std::this_thread::get_id();
    });
  worker.wait();
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(SerialWorker, SubmitWaitsWhileTheQueueIsFull) {
  SerialWorker worker(1);
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  worker.submit([&] {
    ++started;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  while (started == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  worker.submit([] {});  // fills the queue of one
  std::atomic<bool> third_in{false};
  std::thread caller([&] {
    worker.submit([] {});
    third_in = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_in) << "a submit did not wait for room";
  release = true;
  caller.join();
  EXPECT_TRUE(third_in);
  worker.wait();
}

TEST(SerialWorker, AFailureSurfacesAtTheNextCallAndDropsTheRest) {
  SerialWorker worker(8);
  std::atomic<int> ran{0};
  std::atomic<bool> release{false};
  worker.submit([&] {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    throw std::runtime_error("layer 3 refused");
  });
  worker.submit([&] { ++ran; });  // queued behind the failing task
  release = true;
  try {
    worker.wait();
    FAIL() << "the task's failure went unreported";
  } catch (const std::runtime_error &e) {
    EXPECT_STREQ(e.what(), "layer 3 refused");
  }
  EXPECT_EQ(ran, 0) << "a task queued behind a failure ran";
  EXPECT_THROW(worker.submit([] {}), std::runtime_error);
}

TEST(SerialWorker, DestroyingItDropsQueuedTasks) {
  std::atomic<int> ran{0};
  std::atomic<bool> release{false}, started{false};
  std::thread releaser;
  {
    SerialWorker worker(8);
    worker.submit([&] {
      started = true;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ++ran;
    });
    for (int i = 0; i < 5; ++i) worker.submit([&] { ++ran; });
    while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    releaser = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      release = true;
    });
  }  // the running task finishes, the queued ones are dropped
  releaser.join();
  EXPECT_EQ(ran, 1) << "queued tasks ran after the worker was destroyed";
}

}  // namespace
}  // namespace gptq
