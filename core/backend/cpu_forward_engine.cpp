#include "core/backend/cpu_forward_engine.h"

#include <map>
#include <utility>

#include "core/base/error.h"
#include "core/model/block_forward.h"
#include "core/model/forward.h"
#include "core/model/kv_cache.h"

namespace gptq {
namespace {

// Rows the CPU engine made and owns.
class HostActivations final : public Activations {
 public:
  explicit HostActivations(Matrix rows) : m(std::move(rows)) {}
  std::int64_t rows() const override { return m.rows; }
  std::int64_t cols() const override { return m.cols; }
  const Matrix &host(Matrix &) const override { return m; }

  Matrix m;
};

class CpuPreparedModel final : public PreparedModel {
 public:
  CpuPreparedModel(const model::ModelSpec &spec, const io::ShardedCheckpoint &checkpoint)
      : forward(spec, checkpoint) {}
  const model::ModelSpec &spec() const override { return forward.spec(); }

  model::Forward forward;
};

class CpuSequenceCache final : public SequenceCache {
 public:
  explicit CpuSequenceCache(model::KvCache cache) : kv(std::move(cache)) {}
  std::int64_t batch() const override { return kv.batch(); }
  std::int64_t capacity() const override { return kv.capacity(); }
  std::int64_t length(std::int64_t b) const override { return kv.length(0, b); }

  model::KvCache kv;
};

template <class T, class Base>
T &mine(Base &b, const char *what) {
  auto *t = dynamic_cast<T *>(&b);
  if (!t) fail(Status::Internal, std::string("cpu forward engine: ") + what + " made by another engine");
  return *t;
}

}  // namespace

std::shared_ptr<const PreparedModel> CpuForwardEngine::prepare(const Compute &, const model::ModelSpec &spec,
                                                               const io::ShardedCheckpoint &checkpoint) const {
  return std::make_shared<const CpuPreparedModel>(spec, checkpoint);
}

std::unique_ptr<SequenceCache> CpuForwardEngine::make_cache(const PreparedModel &model, std::int64_t batch,
                                                            std::int64_t capacity) const {
  const auto &m = mine<const CpuPreparedModel>(model, "a prepared model");
  return std::make_unique<CpuSequenceCache>(m.forward.make_cache(batch, capacity));
}

Matrix CpuForwardEngine::run(const Compute &compute, const PreparedModel &model, std::span<const std::int32_t> ids,
                             std::int64_t batch, std::int64_t seq, SequenceCache *cache, bool last_only,
                             std::span<const std::int64_t> counts) const {
  const auto &m = mine<const CpuPreparedModel>(model, "a prepared model");
  model::KvCache *kv = cache ? &mine<CpuSequenceCache>(*cache, "a KV cache").kv : nullptr;
  return m.forward.run(compute, ids, batch, seq, kv, last_only, counts);
}

std::unique_ptr<Activations> CpuForwardEngine::embed(const Compute &compute, const model::ModelSpec &spec,
                                                     const model::GlobalWeights &globals,
                                                     std::span<const std::int32_t> ids, std::int64_t batch,
                                                     std::int64_t seq) const {
  return std::make_unique<HostActivations>(model::embed(compute, spec, globals, ids, batch, seq));
}

std::unique_ptr<Activations> CpuForwardEngine::copy(const Activations &a) const {
  Matrix scratch;
  const Matrix &m = a.host(scratch);
  return std::make_unique<HostActivations>(&m == &scratch ? std::move(scratch) : m);
}

void CpuForwardEngine::run_block(const Compute &compute, const model::ModelSpec &spec, const model::BlockWeights &w,
                                 Activations &hidden, std::int64_t batch, std::int64_t seq,
                                 const ActivationsObserver &observe) const {
  Matrix &h = mine<HostActivations>(hidden, "activations").m;
  if (!observe) {
    model::block_forward(compute, spec, w, h, batch, seq);
    return;
  }
  // One lent view per input matrix of the run, so linears that share an
  // input see the same Activations object, as they see the same Matrix.
  std::map<const Matrix *, LentActivations> lent;
  model::block_forward(compute, spec, w, h, batch, seq, [&](std::string_view name, const Matrix &input) {
    auto it = lent.try_emplace(&input, input).first;
    return observe(name, it->second);
  });
}

}  // namespace gptq
