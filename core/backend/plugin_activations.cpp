#include "core/backend/plugin_activations.h"

#include <string>

#include "core/backend/plugin_status.h"
#include "core/base/error.h"

namespace gptq {

PluginBuffer::PluginBuffer(const gptq_backend_plugin &table, void *state, std::size_t bytes,
                           const std::string &what)
    : table_(&table), state_(state) {
  char err[512] = {0};
  check_plugin(table.buffer_alloc(state, bytes, &handle_, err, sizeof err), table.name,
               "allocating " + std::to_string(bytes) + " bytes of " + what, err);
}

PluginBuffer::~PluginBuffer() {
  if (handle_) table_->buffer_free(state_, handle_);
}

PluginActivations::PluginActivations(const gptq_backend_plugin &table, void *state, std::int64_t rows,
                                     std::int64_t cols, const Matrix *m)
    : table_(&table), state_(state), rows_(rows), cols_(cols) {
  if (rows <= 0 || cols <= 0)
    fail(Status::InvalidArgument, "activations of " + std::to_string(rows) + " x " + std::to_string(cols));
  owned_ = std::make_unique<PluginBuffer>(table, state, bytes(), "activations");
  handle_ = owned_->get();
  if (!m) return;
  if (m->rows != rows || m->cols != cols)
    fail(Status::Internal, "activations of " + std::to_string(m->rows) + " x " + std::to_string(m->cols) +
                               " for a buffer of " + std::to_string(rows) + " x " + std::to_string(cols));
  char err[512] = {0};
  check_plugin(table.buffer_write(state, owned_->get(), 0, m->data.data(), bytes(), err, sizeof err), table.name,
               "uploading activations", err);
}

PluginActivations::PluginActivations(const gptq_backend_plugin &table, void *state, const gptq_plugin_buffer *handle,
                                     std::int64_t rows, std::int64_t cols)
    : table_(&table), state_(state), handle_(handle), rows_(rows), cols_(cols) {}

std::size_t PluginActivations::bytes() const {
  return static_cast<std::size_t>(rows_) * static_cast<std::size_t>(cols_) * sizeof(float);
}

const Matrix &PluginActivations::host(Matrix &scratch) const {
  // Into scratch's own memory when it has the shape already (a parked
  // chunk's, which may be page-locked: ForwardEngine::pin_host).
  if (scratch.rows != rows_ || scratch.cols != cols_ ||
      scratch.data.size() != static_cast<std::size_t>(rows_) * static_cast<std::size_t>(cols_))
    scratch = Matrix(rows_, cols_);
  char err[512] = {0};
  check_plugin(table_->buffer_read(state_, handle_, 0, scratch.data.data(), bytes(), err, sizeof err), table_->name,
               "reading activations back", err);
  return scratch;
}

PluginHeldMatrix::PluginHeldMatrix(const gptq_backend_plugin &table, void *state, std::int64_t rows,
                                   std::int64_t cols, const std::string &what)
    : table_(&table),
      state_(state),
      rows_(rows),
      cols_(cols),
      buffer_(table, state, static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols) * sizeof(float), what) {}

void PluginHeldMatrix::read(float *dst) const {
  char err[512] = {0};
  check_plugin(table_->buffer_read(state_, buffer_.get(), 0, dst,
                                   static_cast<std::size_t>(rows_) * static_cast<std::size_t>(cols_) * sizeof(float),
                                   err, sizeof err),
               table_->name, "reading a held matrix back", err);
}

}  // namespace gptq
