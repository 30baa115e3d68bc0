// Filling QuantizeReport: layer entries from solver results, totals, and a
// report that serializes through the schema (so the C API can return it).
#include <gtest/gtest.h>

#include <cmath>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config/typed.h"
#include "core/base/error.h"
#include "core/pipeline/quantize_report.h"

namespace gptq::quant {
namespace {

TEST(QuantizeReport, LayersTotalsAndJson) {
  const auto config = config::parse_quantize_config(R"({"bits": 3})");
  auto report = start_report(config, "cpu");
  QuantResult r;
  r.loss = 12.5;
  r.damp_percent = 0.0125;
  add_layer_report(report, "model.layers.0.self_attn.q_proj", r, 0.25);
  auto &second = add_layer_report(report, "model.layers.0.mlp.down_proj", r, 1.0, 20.0);
  EXPECT_EQ(second.rtn_loss, 20.0);
  Stopwatch watch;
  finish_report(report, watch.seconds() + 3.0);
  EXPECT_GT(report.peak_rss_bytes, 0u);

  const auto j = nlohmann::json::parse(config::to_json(report));
  ASSERT_EQ(j["layers"].size(), 2u);
  EXPECT_EQ(j["layers"][0]["name"], "model.layers.0.self_attn.q_proj");
  EXPECT_EQ(j["layers"][0]["loss"], 12.5);
  EXPECT_FLOAT_EQ(j["layers"][0]["damp"].get<float>(), 0.0125f);
  EXPECT_EQ(j["layers"][0]["seconds"], 0.25);
  EXPECT_EQ(j["layers"][0]["rtn_loss"], -1.0);  // not compared
  EXPECT_EQ(j["layers"][1]["rtn_loss"], 20.0);
  EXPECT_EQ(j["config"]["bits"], 3);
  EXPECT_EQ(j["backend"], "cpu");
  EXPECT_GE(j["seconds"].get<double>(), 3.0);
}

// A scope inside another takes its time out of the outer one: every moment
// counts once, so the phases sum to no more than the time that passed (and a
// clock that counted the inner time twice would pass it by 30 ms).
TEST(QuantizeReport, PhaseClockCountsEachMomentOnce) {
  using namespace std::chrono_literals;
  Stopwatch elapsed;
  PhaseClock clock;
  {
    auto forward = clock.scope(Phase::Forward);
    std::this_thread::sleep_for(20ms);
    {
      auto hessian = clock.scope(Phase::Hessian);
      std::this_thread::sleep_for(30ms);
    }
    std::this_thread::sleep_for(10ms);
  }
  const double total = elapsed.seconds();
  const double forward = clock.seconds(Phase::Forward), hessian = clock.seconds(Phase::Hessian);
  EXPECT_GE(hessian, 0.030);
  EXPECT_GE(forward, 0.030);
  EXPECT_LE(forward + hessian + clock.seconds(Phase::Other), total)
      << "forward " << forward << " s, hessian " << hessian << " s in " << total << " s";
  EXPECT_EQ(clock.seconds(Phase::Solve), 0.0);

  auto report = start_report(config::parse_quantize_config(""), "cpu");
  set_phases(report, clock);
  const auto j = nlohmann::json::parse(config::to_json(report));
  EXPECT_EQ(j["phases"]["forward"].get<double>(), forward);
  EXPECT_EQ(j["phases"]["hessian"].get<double>(), hessian);
  EXPECT_EQ(j["phases"]["write"].get<double>(), 0.0);
}

// An engine's own timing of a part of a scope (the Cholesky inside a solve)
// moves out of the scope's phase into its own, never more than the scope
// had: the sum stays the clock's time.
TEST(QuantizeReport, PhaseClockTransfersAnEnginesTimedPart) {
  using namespace std::chrono_literals;
  PhaseClock clock;
  {
    auto solve = clock.scope(Phase::Solve);
    std::this_thread::sleep_for(20ms);
  }
  const double solve = clock.seconds(Phase::Solve);
  clock.transfer(Phase::Solve, Phase::Factor, 0.005);
  EXPECT_EQ(clock.seconds(Phase::Factor), 0.005);
  EXPECT_DOUBLE_EQ(clock.seconds(Phase::Solve), solve - 0.005);
  clock.transfer(Phase::Solve, Phase::Factor, 10.0);  // more than there is
  EXPECT_EQ(clock.seconds(Phase::Solve), 0.0);
  EXPECT_DOUBLE_EQ(clock.seconds(Phase::Factor), solve);
  auto report = start_report(config::parse_quantize_config(""), "cpu");
  set_phases(report, clock);
  const auto j = nlohmann::json::parse(config::to_json(report));
  EXPECT_DOUBLE_EQ(j["phases"]["factor"].get<double>(), solve);
  EXPECT_EQ(j["phases"]["solve"].get<double>(), 0.0);
}

TEST(QuantizeReport, RefusesWhatCannotBeSerialized) {
  auto report = start_report(config::parse_quantize_config(""), "cpu");
  QuantResult r;
  r.loss = std::nan("");
  EXPECT_THROW(add_layer_report(report, "a", r, 1.0), Error);
  r.loss = 1;
  EXPECT_THROW(add_layer_report(report, "", r, 1.0), Error);
  EXPECT_THROW(add_layer_report(report, "a", r, -1.0), Error);
  EXPECT_THROW(finish_report(report, INFINITY), Error);
  EXPECT_TRUE(report.layers.empty());
}

// The peak follows what this process touches (and only it: see
// peak_rss_bytes; the CLI test runs the binary from a fresh process).
TEST(QuantizeReport, PeakRssCountsTouchedMemory) {
  const std::uint64_t before = peak_rss_bytes();
  ASSERT_GT(before, 0u);
  std::vector<char> block(std::size_t{96} << 20);
  for (std::size_t i = 0; i < block.size(); i += 4096) block[i] = static_cast<char>(i);
  const std::uint64_t after = peak_rss_bytes();
  EXPECT_GE(after, before + (std::uint64_t{80} << 20)) << "peak before " << before << ", after " << after;
  EXPECT_EQ(block[4096 * 3], static_cast<char>(4096 * 3));  // the writes happened
}

}  // namespace
}  // namespace gptq::quant
