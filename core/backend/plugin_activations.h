// Activations that live in a backend plugin's buffer (device memory): the
// hidden state of the calibration forward between blocks and the linear
// inputs its observer sees, handed from the plugin forward engine to the
// plugin quantize engine of the same state without a trip to the host.
// host() reads them back (an engine of another backend, a test). Also the
// matrices a plugin holds for the core (PluginHeldMatrix: a solve's
// dequantized weights left on the device for the block runner).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/backend/activations.h"
#include "core/backend/backend_plugin.h"
#include "core/tensor/held_matrix.h"

namespace gptq {

// A plugin buffer freed on every path out.
class PluginBuffer {
 public:
  // buffer_alloc of `bytes`; the plugin's failure (out of memory naming the
  // bytes) as Error, `what` saying what for.
  PluginBuffer(const gptq_backend_plugin &table, void *state, std::size_t bytes, const std::string &what);
  ~PluginBuffer();
  PluginBuffer(const PluginBuffer &) = delete;
  PluginBuffer &operator=(const PluginBuffer &) = delete;
  gptq_plugin_buffer *get() const { return handle_; }

 private:
  const gptq_backend_plugin *table_;
  void *state_;
  gptq_plugin_buffer *handle_ = nullptr;
};

class PluginActivations final : public Activations {
 public:
  // A new buffer of rows x cols fp32, holding `m` when given (uploaded).
  PluginActivations(const gptq_backend_plugin &table, void *state, std::int64_t rows, std::int64_t cols,
                    const Matrix *m = nullptr);
  // The plugin's own buffer, borrowed (an observer's input: valid during
  // the call).
  PluginActivations(const gptq_backend_plugin &table, void *state, const gptq_plugin_buffer *handle,
                    std::int64_t rows, std::int64_t cols);

  std::int64_t rows() const override { return rows_; }
  std::int64_t cols() const override { return cols_; }
  // Read back into scratch.
  const Matrix &host(Matrix &scratch) const override;

  // The handle, when these rows live in a buffer of `state` (of `table`).
  const gptq_plugin_buffer *handle_in(const gptq_backend_plugin &table, const void *state) const {
    return &table == table_ && state == state_ ? handle_ : nullptr;
  }
  gptq_plugin_buffer *handle() const { return const_cast<gptq_plugin_buffer *>(handle_); }
  std::size_t bytes() const;

 private:
  const gptq_backend_plugin *table_;
  void *state_;
  std::unique_ptr<PluginBuffer> owned_;
  const gptq_plugin_buffer *handle_ = nullptr;
  std::int64_t rows_, cols_;
};

// A fp32 [rows][cols] matrix in a plugin buffer of its own.
class PluginHeldMatrix final : public HeldMatrix {
 public:
  // A new buffer for it; `what` as for PluginBuffer.
  PluginHeldMatrix(const gptq_backend_plugin &table, void *state, std::int64_t rows, std::int64_t cols,
                   const std::string &what);
  std::int64_t rows() const override { return rows_; }
  std::int64_t cols() const override { return cols_; }
  void read(float *dst) const override;
  // The buffer, when it is one of `state` (of `table`).
  const gptq_plugin_buffer *handle_in(const gptq_backend_plugin &table, const void *state) const {
    return &table == table_ && state == state_ ? buffer_.get() : nullptr;
  }
  gptq_plugin_buffer *handle() const { return buffer_.get(); }

 private:
  const gptq_backend_plugin *table_;
  void *state_;
  std::int64_t rows_, cols_;
  PluginBuffer buffer_;
};

}  // namespace gptq
