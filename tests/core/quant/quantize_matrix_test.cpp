// The checked entry points: bad input is rejected with InvalidArgument naming
// the layer and field; real weight matrices of the shared test models quantize
// better with GPTQ than with RTN.
//
// "Real layers" here are real weight matrices with a synthetic Hessian
// (Gaussian activations plus a few correlated directions): the forward pass
// that would give real activations does not exist yet in core/.
#include "core/quant/quantize_matrix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "core/base/error.h"
#include "core/pipeline/pack_result.h"
#include "tests/core/quant/quant_test_util.h"
#include "tests/support/test_compute.h"

namespace gptq::quant {
namespace {

using namespace gptq::quant::testing;

void expect_invalid(const std::function<void()> &fn, const std::string &needle) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(QuantizeMatrix, RejectsBadInput) {
  const std::int64_t n = 8, k = 64;
  auto w = random_matrix(n, k, 1);
  auto h = hessian_of(random_matrix(128, k, 2), k);
  QuantOptions o;
  o.group_size = -1;  // k = 64 columns: the default group of 128 would be the first complaint
  auto run = [&] { (void)quantize_matrix(test_compute(), w.data(), n, k, h.data(), o, "blk.0.q"); };
  auto run_rtn = [&] { (void)rtn_matrix(test_compute(), w.data(), n, k, o, "blk.0.q"); };
  w[9] = NAN;
  expect_invalid(run, "weight[0][9]");
  expect_invalid(run_rtn, "weight[0][9]");
  w[9] = INFINITY;
  expect_invalid(run, "blk.0.q");
  w[9] = 0.5f;
  h[70] = -INFINITY;
  expect_invalid(run, "hessian[1][6]");
  h[70] = h[6 * k + 1];
  o.group_size = 48;
  expect_invalid(run, "group_size");
  expect_invalid(run_rtn, "group_size");
  o.group_size = 0;
  expect_invalid(run, "group_size");
  o.group_size = 32;
  for (int bits : {0, 1, 5, 16}) {
    o.bits = bits;
    expect_invalid(run, "bits");
  }
  o.bits = 4;
  o.block_size = 0;
  expect_invalid(run, "block_size");
  o.block_size = 128;
  o.damp_percent = -0.1f;
  expect_invalid(run, "damp_percent");
  o.damp_percent = 0.01f;
  expect_invalid([&] { (void)quantize_matrix(test_compute(), w.data(), 0, k, h.data(), o); }, "rows");
  expect_invalid([&] { (void)quantize_matrix(test_compute(), w.data(), n, -3, h.data(), o); }, "cols");
  expect_invalid([&] { (void)quantize_matrix(test_compute(), w.data(), n, k, nullptr, o); }, "hessian");
  (void)quantize_matrix(test_compute(), w.data(), n, k, h.data(), o);  // and the fixed input works
}

struct RealLayer {
  const char *model, *tensor;
};

class RealLayers : public ::testing::TestWithParam<RealLayer> {};

TEST_P(RealLayers, GptqBeatsRtnAndPackingRoundTrips) {
  GPTQ_REQUIRE_SHARED(dir, std::string("models/") + GetParam().model);
  std::int64_t n = 0, k = 0;
  const auto w = load_model_tensor(dir, GetParam().tensor, n, k);
  const auto h = hessian_of(correlated_activations(2 * k, k, 17), k);
  for (int bits : {3, 4})
    for (bool desc : {false, true})
      for (bool sym : {false, true}) {
        QuantOptions o;
        o.bits = bits;
        o.group_size = 128;
        o.desc_act = desc;
        o.sym = sym;
        const QuantResult g = quantize_matrix(test_compute(), w.data(), n, k, h.data(), o, GetParam().tensor);
        const QuantResult r = rtn_matrix(test_compute(), w.data(), n, k, o, GetParam().tensor);
        const double eg = output_error(w, g.dequant, h, n, k), er = output_error(w, r.dequant, h, n, k);
        EXPECT_LT(eg, er) << GetParam().tensor << " bits " << bits << " desc " << desc << " sym " << sym;
        const PackedGptq p = pack_gptq(g, CheckpointFormat::V2);
        const UnpackedGptq u = unpack_gptq(p);
        EXPECT_EQ(u.codes, g.codes);
        EXPECT_EQ(u.zeros, g.zeros);
        EXPECT_EQ(u.g_idx, g.g_idx);
      }
}

INSTANTIATE_TEST_SUITE_P(SharedModels, RealLayers,
                         ::testing::Values(RealLayer{"docs-opt-15m", "model.decoder.layers.0.fc1.weight"},
                                           RealLayer{"docs-llama-16m", "model.layers.0.mlp.down_proj.weight"}));

}  // namespace
}  // namespace gptq::quant
