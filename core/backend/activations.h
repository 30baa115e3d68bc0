// Activations: a batch of rows ([rows, cols] fp32, sequence-major) that lives
// where the backend computing them works — host memory for the CPU, device
// memory for a GPU. The pipeline hands them from the forward engine (a
// block's linear inputs, the hidden state between blocks) to the quantize
// engine without looking inside, so a GPU backend never copies them to the
// host between blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "core/model/observer_reply.h"
#include "core/tensor/matrix.h"

namespace gptq {

class Activations {
 public:
  virtual ~Activations() = default;
  virtual std::int64_t rows() const = 0;
  virtual std::int64_t cols() const = 0;
  // The rows on the host: themselves when they live there (no copy), else
  // copied into `scratch` — how an engine of another backend (the CPU one a
  // context falls back to) reads them; into scratch's own memory when it
  // has their shape already.
  virtual const Matrix &host(Matrix &scratch) const = 0;
};

// Rows on the host, borrowed (the matrix outlives the view): a linear's input
// inside the CPU's block forward, lent for the observer's call; host rows
// the pipeline hands an engine's copy() to put where the engine computes.
class LentActivations final : public Activations {
 public:
  explicit LentActivations(const Matrix &m) : m_(&m) {}
  std::int64_t rows() const override { return m_->rows; }
  std::int64_t cols() const override { return m_->cols; }
  const Matrix &host(Matrix &) const override { return *m_; }

 private:
  const Matrix *m_;
};

// Called once per linear sublayer of a block run, in execution order, with
// the sublayer's name within the block (as in sequential_groups) and its
// input, valid only during the call. Linears that share an input (q/k/v;
// gate/up) get the same Activations object, so an observer accumulates one
// Hessian per distinct input (compare addresses). The observer may replace
// the weights of that linear and of any linear not yet run, and may end the
// run before the linear (kStop: the block's output is then undefined).
using ActivationsObserver = std::function<model::ObserverReply(std::string_view sublayer, const Activations &input)>;

}  // namespace gptq
