// ThreadPool: every task runs once, on as many threads as the pool has and no
// more; callers on several threads share it; a task's run() runs inline; an
// exception or a stop from `between` ends the job after the running tasks.
#include "core/cpu/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/base/error.h"

namespace gptq {
namespace {

using namespace std::chrono_literals;

TEST(ThreadPool, RunsEveryTaskOnceOnAtMostItsThreads) {
  for (int threads : {1, 2, 5}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    std::vector<std::atomic<int>> ran(1000);
    std::mutex m;
    std::set<std::thread::id> ids;
    pool.run(static_cast<std::int64_t>(ran.size()), [&](std::int64_t i) {
      ran[static_cast<std::size_t>(i)]++;
      std::lock_guard lock(m);
      ids.insert(std::this_thread::get_id());
    });
    for (const auto &r : ran) EXPECT_EQ(r.load(), 1);
    EXPECT_LE(ids.size(), static_cast<std::size_t>(threads));
    EXPECT_TRUE(ids.count(std::this_thread::get_id()) || threads > 1);
  }
}

TEST(ThreadPool, UsesItsWorkersWhenTasksWait) {
  // Tasks that wait for each other finish only if `threads` of them run at once.
  for (int threads : {2, 4}) {
    ThreadPool pool(threads);
    std::atomic<int> arrived{0};
    pool.run(threads, [&](std::int64_t) {
      arrived++;
      const auto deadline = std::chrono::steady_clock::now() + 20s;
      while (arrived.load() < threads && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    });
    EXPECT_EQ(arrived.load(), threads);
  }
}

TEST(ThreadPool, BetweenRunsOnTheCallingThreadOnly) {
  ThreadPool pool(3);
  const auto caller = std::this_thread::get_id();
  std::atomic<int> calls{0}, elsewhere{0};
  pool.run(200, [](std::int64_t) { std::this_thread::sleep_for(100us); },
           [&] {
             calls++;
             if (std::this_thread::get_id() != caller) elsewhere++;
           });
  EXPECT_GT(calls.load(), 0);
  EXPECT_EQ(elsewhere.load(), 0);
}

TEST(ThreadPool, BetweenIsCalledWhileWaitingForALongTask) {
  // The caller's task ends once the worker's has started; the worker's takes
  // 300 ms: the caller keeps calling `between` while it waits (every kWaitPoll).
  ThreadPool pool(2);
  const auto caller = std::this_thread::get_id();
  std::atomic<int> calls{0};
  std::atomic<bool> worker_started{false};
  pool.run(
      2,
      [&](std::int64_t) {
        if (std::this_thread::get_id() != caller) {
          worker_started = true;
          std::this_thread::sleep_for(300ms);
          return;
        }
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (!worker_started && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
      },
      [&] { calls++; });
  ASSERT_TRUE(worker_started);
  EXPECT_GE(calls.load(), 5);
}

TEST(ThreadPool, AThrowingTaskStopsTheJobAndTheErrorReachesTheCaller) {
  ThreadPool pool(3);
  std::atomic<int> started{0};
  try {
    pool.run(10000, [&](std::int64_t i) {
      started++;
      if (i == 10) fail(Status::Numerical, "task 10");
      std::this_thread::sleep_for(50us);
    });
    FAIL() << "no exception";
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::Numerical);
    EXPECT_STREQ(e.what(), "task 10");
  }
  EXPECT_LT(started.load(), 10000);
  // The pool works afterwards.
  std::atomic<int> n{0};
  pool.run(100, [&](std::int64_t) { n++; });
  EXPECT_EQ(n.load(), 100);
}

TEST(ThreadPool, AStopFromBetweenStartsNoFurtherTask) {
  // Counted: once `between` has thrown, no task starts; those already
  // handed out (at most one per worker) end. Between the test's flag and the
  // pool's stop the caller still throws and takes the pool's lock (tens of
  // microseconds under ASan, longer when the thread is preempted), so a task
  // that starts after the flag holds its worker for far longer than that:
  // a worker then cannot take a second one inside that window.
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    std::atomic<int> started{0}, started_after_stop{0};
    std::atomic<bool> stopped{false};
    try {
      pool.run(100000, [&](std::int64_t) {
        started++;
        if (stopped) {
          started_after_stop++;
          std::this_thread::sleep_for(300ms);
        } else {
          std::this_thread::sleep_for(20us);
        }
      },
               [&] {
                 if (started.load() >= 50) {
                   stopped = true;
                   fail(Status::Cancelled, "stop");
                 }
               });
      FAIL() << "not stopped";
    } catch (const Error &e) {
      EXPECT_EQ(e.status(), Status::Cancelled);
    }
    EXPECT_LE(started_after_stop.load(), threads - 1) << threads;
    EXPECT_LT(started.load(), 100000);
  }
}

TEST(ThreadPool, RunInsideATaskRunsInline) {
  ThreadPool pool(3);
  std::atomic<int> inner{0};
  std::atomic<int> not_inline{0};
  pool.run(6, [&](std::int64_t) {
    const auto self = std::this_thread::get_id();
    pool.run(4, [&](std::int64_t) {
      inner++;
      if (std::this_thread::get_id() != self) not_inline++;
    });
  });
  EXPECT_EQ(inner.load(), 24);
  EXPECT_EQ(not_inline.load(), 0);
}

TEST(ThreadPool, CallersOnSeveralThreadsShareThePool) {
  ThreadPool pool(3);
  std::vector<std::thread> callers;
  std::vector<std::int64_t> sums(4, 0);
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&, c] {
      for (int round = 0; round < 50; ++round) {
        std::vector<std::int64_t> out(97, 0);
        pool.run(97, [&](std::int64_t i) { out[static_cast<std::size_t>(i)] = i * (c + 1); });
        for (auto v : out) sums[static_cast<std::size_t>(c)] += v;
      }
    });
  }
  for (auto &t : callers) t.join();
  for (int c = 0; c < 4; ++c) EXPECT_EQ(sums[static_cast<std::size_t>(c)], 50 * (c + 1) * (96 * 97 / 2));
}

TEST(ThreadPool, ZeroTasksAndOneThread) {
  ThreadPool pool(1);
  int n = 0;
  pool.run(0, [&](std::int64_t) { ++n; });
  EXPECT_EQ(n, 0);
  pool.run(3, [&](std::int64_t) { ++n; });
  EXPECT_EQ(n, 3);
  ThreadPool clamped(0);
  EXPECT_EQ(clamped.threads(), 1);
}

}  // namespace
}  // namespace gptq
