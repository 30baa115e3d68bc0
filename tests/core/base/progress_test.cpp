// ProgressMeter: steps add up to the total, fractions move within a step and
// never back, ranges nest, the callback comes at least once per 1/200 of the
// total whatever the clock says, and a stop from the callback throws
// Error(Cancelled).
#include "core/base/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace gptq {
namespace {

struct Seen {
  std::vector<uint64_t> done;
  std::vector<uint64_t> totals;
  Progress progress() {
    return Progress([this](std::string_view stage, uint64_t d, uint64_t t) {
      EXPECT_EQ(stage, "work");
      done.push_back(d);
      totals.push_back(t);
      return true;
    });
  }
};

TEST(ProgressMeter, StepsAndFractionsRiseToTheTotal) {
  Seen seen;
  const Progress progress = seen.progress();
  ProgressMeter meter(progress, "work", 1000);
  EXPECT_TRUE(seen.done.empty());  // nothing before start()
  meter.start();
  meter.begin_step(400);
  meter.fraction(0.5);
  meter.poll();  // 200 units since the last report: more than 1/200 of the total
  meter.fraction(0.25);  // back: ignored
  meter.poll();
  meter.end_step();
  meter.begin_step(600);
  {
    const ProgressMeter::Range second_half(&meter, 0.5, 1.0);
    meter.fraction(0.5);  // half of the second half: 3/4 of the step
    meter.poll();
    {
      const ProgressMeter::Range inner(&meter, 0.5, 1.0);  // [0.75, 1] of the step
      meter.fraction(0.5);                                  // 7/8 of the step
      meter.poll();
    }
  }
  meter.end_step();
  // (A stalled test may also see a report the clock made: a repeated value.)
  std::vector<uint64_t> distinct = seen.done;
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const std::vector<uint64_t> want = {0, 200, 400, 400 + 450, 400 + 525, 1000};
  EXPECT_EQ(distinct, want);
  for (uint64_t t : seen.totals) EXPECT_EQ(t, 1000u);
  EXPECT_EQ(meter.done(), 1000u);
}

TEST(ProgressMeter, SmallGrowthWaitsForTheClockAndFinishReportsTheTotal) {
  Seen seen;
  const Progress progress = seen.progress();
  ProgressMeter meter(progress, "work", 100000);
  meter.start();
  meter.begin_step(100000);
  for (int i = 1; i <= 100; ++i) {
    meter.fraction(i / 100000.0);  // 1 unit each: far below 1/200 of the total
    meter.poll();
  }
  // Only the clock could have made a report since start(): at most a few.
  EXPECT_LE(seen.done.size(), 3u);
  meter.finish();
  EXPECT_EQ(seen.done.back(), 100000u);
}

TEST(ProgressMeter, AStopFromTheCallbackThrowsCancelled) {
  int calls = 0;
  const Progress progress([&](std::string_view, uint64_t done, uint64_t) {
    ++calls;
    return done < 50;
  });
  ProgressMeter meter(progress, "work", 100);
  meter.start();
  meter.begin_step(100);
  meter.fraction(0.3);
  meter.poll();
  meter.fraction(0.6);
  try {
    meter.poll();
    FAIL() << "not cancelled";
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::Cancelled);
    EXPECT_NE(std::string(e.what()).find("work"), std::string::npos) << e.what();
  }
  EXPECT_EQ(calls, 3);
}

TEST(ProgressMeter, WithoutACallbackNothingHappens) {
  const Progress none;
  ProgressMeter meter(none, "work", 10);
  meter.start();
  meter.begin_step(10);
  meter.fraction(1.0);
  meter.poll();
  meter.end_step();
  EXPECT_EQ(meter.done(), 10u);
}

}  // namespace
}  // namespace gptq
