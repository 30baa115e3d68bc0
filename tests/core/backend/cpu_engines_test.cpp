// The CPU engines are adapters: each operation gives the bits of the core
// code it wraps (the pipeline's checkpoints depend on it), and the forward
// engine keeps block_forward's promise that linears sharing an input see the
// same object.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/backend/cpu_forward_engine.h"
#include "core/backend/cpu_quantize_engine.h"
#include "core/model/architecture.h"
#include "core/model/block_forward.h"
#include "core/model/forward.h"
#include "core/model/model.h"
#include "core/quant/hessian.h"
#include "core/quant/layer_loss.h"
#include "core/quant/quantize_matrix.h"
#include "tests/support/random_matrix.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"

namespace gptq {
namespace {

template <class A, class B>
bool same_bits(const A &a, const B &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Activations of the CPU engine holding `m` (its embed of nothing but m).
class Rows final : public Activations {
 public:
  explicit Rows(Matrix rows) : m(std::move(rows)) {}
  std::int64_t rows() const override { return m.rows; }
  std::int64_t cols() const override { return m.cols; }
  const Matrix &host(Matrix &) const override { return m; }
  Matrix m;
};

TEST(CpuQuantizeEngine, GivesTheBitsOfTheCoreSolver) {
  const std::int64_t n = 48, k = 64, rows = 200;
  Matrix x(rows, k);
  const std::vector<float> xs = testing::random_matrix(rows, k, 7);
  x.data.assign(xs.begin(), xs.end());
  const std::vector<float> w = testing::random_matrix(n, k, 8);
  quant::QuantOptions opt;
  opt.group_size = 32;
  opt.desc_act = true;

  quant::HessianAccumulator acc(k, false);
  acc.add_batch(test_compute(), x.data.data(), rows, 4);
  const std::vector<float> h = acc.hessian(test_compute());
  const quant::QuantResult want = quant::quantize_matrix(test_compute(), w.data(), n, k, h.data(), opt, "m");
  const quant::QuantResult want_rtn = quant::rtn_matrix(test_compute(), w.data(), n, k, opt, "m");

  const CpuQuantizeEngine engine;
  auto eh = engine.new_hessian(k, false);
  EXPECT_EQ(eh->columns(), k);
  engine.accumulate(test_compute(), *eh, Rows(x), 4);
  EXPECT_THROW(engine.solve(test_compute(), w.data(), n, k, *eh, opt, "m"), Error) << "not finished";
  engine.finish(test_compute(), *eh);
  const quant::QuantResult got = engine.solve(test_compute(), w.data(), n, k, *eh, opt, "m");
  EXPECT_EQ(got.codes, want.codes);
  EXPECT_TRUE(same_bits(got.scales, want.scales));
  EXPECT_EQ(got.zeros, want.zeros);
  EXPECT_EQ(got.g_idx, want.g_idx);
  EXPECT_EQ(got.perm, want.perm);
  EXPECT_TRUE(same_bits(got.dequant, want.dequant));
  EXPECT_EQ(got.loss, want.loss);
  EXPECT_GT(got.factor_seconds, 0.0) << "the inverse Cholesky's time, for the report's factor phase";
  EXPECT_FALSE(got.held_dequant) << "the CPU engine's results are on the host";
  const quant::QuantResult rtn = engine.rtn(test_compute(), w.data(), n, k, opt, "m");
  EXPECT_EQ(rtn.codes, want_rtn.codes);
  EXPECT_EQ(engine.loss(test_compute(), w.data(), rtn.dequant.data(), *eh, n, k),
            quant::layer_loss(test_compute(), w.data(), want_rtn.dequant.data(), h.data(), n, k));
  EXPECT_THROW(engine.finish(test_compute(), *eh), Error) << "finished twice";
}

TEST(CpuForwardEngine, RunsBlocksAndModelsAsTheCoreForwardPass) {
  const auto model = model::Model::open(testing::source_dir() / "demo/docs-llama-tiny");
  const model::ModelSpec &spec = model->spec();
  const model::GlobalWeights globals = model::load_global_weights(spec, model->weights());
  const model::BlockWeights block = model::load_block_weights(spec, model->weights(), 0);
  const std::int64_t batch = 2, seq = 5;
  std::vector<std::int32_t> ids(batch * seq);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>(3 + 7 * i);

  Matrix want = model::embed(test_compute(), spec, globals, ids, batch, seq);
  std::vector<std::pair<std::string, const Matrix *>> want_inputs;
  model::block_forward(test_compute(), spec, block, want, batch, seq, [&](std::string_view name, const Matrix &in) {
    want_inputs.emplace_back(std::string(name), &in);
    return model::ObserverReply::kRunOn;
  });

  const CpuForwardEngine engine;
  auto hidden = engine.embed(test_compute(), spec, globals, ids, batch, seq);
  auto copy = engine.copy(*hidden);
  std::vector<std::pair<std::string, const Activations *>> got_inputs;
  engine.run_block(test_compute(), spec, block, *hidden, batch, seq,
                   [&](std::string_view name, const Activations &in) {
                     EXPECT_EQ(in.rows(), batch * seq);
                     got_inputs.emplace_back(std::string(name), &in);
                     return model::ObserverReply::kRunOn;
                   });
  Matrix scratch;
  EXPECT_TRUE(same_bits(hidden->host(scratch).data, want.data));
  ASSERT_EQ(got_inputs.size(), want_inputs.size());
  for (std::size_t i = 0; i < got_inputs.size(); ++i) {
    EXPECT_EQ(got_inputs[i].first, want_inputs[i].first);
    for (std::size_t j = 0; j < i; ++j)  // shared input <=> shared object, as block_forward's Matrix
      EXPECT_EQ(got_inputs[i].second == got_inputs[j].second, want_inputs[i].second == want_inputs[j].second)
          << got_inputs[i].first << " vs " << got_inputs[j].first;
  }
  engine.run_block(test_compute(), spec, block, *copy, batch, seq, {});
  EXPECT_TRUE(same_bits(copy->host(scratch).data, want.data)) << "copy() copies";

  const model::Forward forward(spec, model->weights());
  const auto prepared = engine.prepare(test_compute(), spec, model->weights());
  EXPECT_TRUE(same_bits(engine.run(test_compute(), *prepared, ids, batch, seq, nullptr, false).data,
                        forward.run(test_compute(), ids, batch, seq).data));
  auto cache = engine.make_cache(*prepared, batch, seq + 1);
  model::KvCache kv = forward.make_cache(batch, seq + 1);
  EXPECT_TRUE(same_bits(engine.run(test_compute(), *prepared, ids, batch, seq, cache.get(), true).data,
                        forward.run(test_compute(), ids, batch, seq, &kv, true).data));
  EXPECT_EQ(cache->length(0), seq);
  EXPECT_EQ(cache->length(batch - 1), seq);
  EXPECT_EQ(cache->capacity(), seq + 1);
  const std::vector<std::int32_t> next = {11, 12};
  EXPECT_TRUE(same_bits(engine.run(test_compute(), *prepared, next, batch, 1, cache.get(), true).data,
                        forward.run(test_compute(), next, batch, 1, &kv, true).data));
}

}  // namespace
}  // namespace gptq
