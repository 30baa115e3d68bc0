#include "core/pipeline/parked_hidden.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/base/error.h"

namespace gptq::quant {
namespace {

// The rows of `a` on the host, as a matrix of their own.
Matrix host_copy(const Activations &a) {
  Matrix scratch;
  const Matrix &m = a.host(scratch);
  return &m == &scratch ? std::move(scratch) : m;
}

}  // namespace

ParkedHidden::ParkedHidden(const Compute &compute, const ForwardEngine &forward, const model::ModelSpec &spec,
                           const model::GlobalWeights &globals, std::span<const std::int32_t> ids,
                           const CalibrationChunks &chunks, std::int64_t seq)
    : forward_(forward) {
  if (static_cast<std::int64_t>(ids.size()) != chunks.batch * seq)
    fail(Status::Internal, std::to_string(ids.size()) + " calibration ids for " + std::to_string(chunks.batch) +
                               " windows of " + std::to_string(seq));
  for (std::int64_t c = 0; c < chunks.count(); ++c) {
    const auto from = static_cast<std::size_t>(chunks.first(c) * seq);
    const auto count = static_cast<std::size_t>(chunks.windows(c) * seq);
    chunks_.push_back(host_copy(*forward.embed(compute, spec, globals, ids.subspan(from, count), chunks.windows(c), seq)));
    Matrix &m = chunks_.back();
    pinned_.push_back(forward.pin_host(m.data.data(), m.data.size() * sizeof(float)));
  }
}

std::unique_ptr<Activations> ParkedHidden::upload(std::int64_t c) const {
  return forward_.copy(LentActivations(chunks_.at(static_cast<std::size_t>(c))));
}

void ParkedHidden::park(std::int64_t c, const Activations &rows) {
  Matrix &slot = chunks_.at(static_cast<std::size_t>(c));
  if (rows.rows() != slot.rows || rows.cols() != slot.cols)
    fail(Status::Internal, "calibration chunk " + std::to_string(c) + ": a block run gave " +
                               std::to_string(rows.rows()) + "x" + std::to_string(rows.cols()) + " rows for " +
                               std::to_string(slot.rows) + "x" + std::to_string(slot.cols));
  // Into the slot's own (maybe page-locked) memory.
  const Matrix &m = rows.host(slot);
  if (&m != &slot) std::copy(m.data.begin(), m.data.end(), slot.data.begin());
}

bool ParkedHidden::pinned() const {
  return std::all_of(pinned_.begin(), pinned_.end(), [](const auto &p) { return p != nullptr; });
}

}  // namespace gptq::quant
