#include "cuda/runtime/block_runner.h"

#include <algorithm>

#include "cuda/cuda_check.h"
#include "cuda/runtime/block_forward.h"
#include "cuda/plugin_error.h"

namespace gptq::cuda {
namespace {

void require(bool ok, const std::string &what) {
  if (!ok) throw InvalidArgument(what);
}

// Which of the block's distinct inputs a linear reads.
int input_of(std::int32_t role) {
  switch (role) {
    case GPTQ_PLUGIN_ROLE_Q:
    case GPTQ_PLUGIN_ROLE_K:
    case GPTQ_PLUGIN_ROLE_V: return 0;
    case GPTQ_PLUGIN_ROLE_O: return 1;
    case GPTQ_PLUGIN_ROLE_GATE:
    case GPTQ_PLUGIN_ROLE_UP: return 2;
    default: return 3;
  }
}

// The slices of one run: the block's, keys and values without a cache, the
// RoPE frequencies and the observer's fp32 input (the widest of the block's).
struct RunSlices {
  RunBuffers r;
  std::int64_t *past_at = nullptr;  // [batch] zeros: every sequence starts at position 0
  float *inv_freq = nullptr, *widened = nullptr;
  __half *keys = nullptr, *values = nullptr;
};

void carve_run(Carver &carve, RunSlices &s, const gptq_plugin_model_spec &spec, std::int64_t rows) {
  carve_block(carve, s.r, spec, rows, spec.hidden_size);
  carve.add(&s.past_at, s.r.batch);
  const std::int64_t kvw = spec.num_kv_heads * spec.head_dim, qw = spec.num_heads * spec.head_dim;
  carve.add(&s.keys, rows * kvw);
  carve.add(&s.values, rows * kvw);
  carve.add(&s.inv_freq, spec.head_dim / 2);
  carve.add(&s.widened, rows * std::max({spec.hidden_size, qw, spec.intermediate_size}));
}

}  // namespace

BlockRunner::BlockRunner(const gptq_plugin_model_spec &s) : spec_(s) {
  check_model_spec(s);
  model_type_ = s.model_type ? s.model_type : "model";
  spec_.model_type = model_type_.c_str();
  norm_kind_ = s.norm == GPTQ_PLUGIN_NORM_RMS ? NormKind::Rms : NormKind::Layer;
  act_ = static_cast<ActKind>(s.activation);
}

std::string BlockRunner::check_tensor(std::int32_t role, std::int64_t t_rows, std::int64_t t_cols,
                                      bool has_weight) const {
  const char *name = role_name(role);
  const std::string what = model_type_ + " block " + (name ? name : "role " + std::to_string(role));
  require(role >= GPTQ_PLUGIN_ROLE_ATTN_NORM && role <= GPTQ_PLUGIN_ROLE_DOWN,
          what + ": not a tensor of a block");
  require(has_weight, what + ": no weight");
  const auto [rows, cols] = role_shape(spec_, role);
  require(t_rows == rows && t_cols == cols, what + " is " + std::to_string(t_rows) + "x" + std::to_string(t_cols) +
                                                ", the spec says " + std::to_string(rows) + "x" +
                                                std::to_string(cols));
  return what;
}

void BlockRunner::set_dense(std::int32_t role, const gptq_plugin_dense &t, cudaStream_t stream) {
  const std::string what = check_tensor(role, t.rows, t.cols, t.weight != nullptr);
  if (role == GPTQ_PLUGIN_ROLE_ATTN_NORM || role == GPTQ_PLUGIN_ROLE_MLP_NORM) {
    Norm &n = role == GPTQ_PLUGIN_ROLE_ATTN_NORM ? attn_norm_ : mlp_norm_;
    const auto count = static_cast<std::size_t>(t.cols);
    n.weight = upload(t.weight, count, what);
    n.bias = t.bias ? upload(t.bias, count, what + " bias") : DeviceBuffer();
    return;
  }
  std::unique_ptr<DenseLinear> &slot = linears_[role - GPTQ_PLUGIN_ROLE_Q];
  slot.reset();  // its memory first, for the new one
  slot = make_dense_linear(t.weight, t.bias, t.rows, t.cols, what, staging_, stream);
}

void BlockRunner::set_dense_device(std::int32_t role, const float *weight, std::int64_t rows, std::int64_t cols,
                                   const float *bias, cudaStream_t stream) {
  const std::string what = check_tensor(role, rows, cols, weight != nullptr);
  require(role >= GPTQ_PLUGIN_ROLE_Q, what + ": a norm comes from the host (block_set_dense)");
  std::unique_ptr<DenseLinear> &slot = linears_[role - GPTQ_PLUGIN_ROLE_Q];
  slot.reset();  // its memory first, for the new one
  slot = make_dense_linear_from_device(weight, bias, rows, cols, what, stream);
}

void BlockRunner::forget() {
  attn_norm_ = Norm();
  mlp_norm_ = Norm();
  for (auto &l : linears_) l.reset();
  staging_ = DeviceBuffer();
}

void BlockRunner::run(const ForwardDevice &device, float *hidden, std::int64_t batch, std::int64_t seq,
                      const float *inv_freq, const BlockObserver &observe) {
  const gptq_plugin_model_spec &s = spec_;
  struct Forget {
    BlockRunner *self;
    ~Forget() { self->forget(); }
  } forget_on_exit{this};
  require(batch > 0 && seq > 0, "a block run needs batch and seq > 0");
  require(seq <= s.max_positions, "positions up to " + std::to_string(seq) + " exceed the model's context of " +
                                      std::to_string(s.max_positions));
  require(hidden != nullptr, "a block run needs the hidden state");
  require((inv_freq != nullptr) == (s.positions == GPTQ_PLUGIN_POSITIONS_ROPE),
          "RoPE frequencies must be given exactly for a RoPE model");
  require(attn_norm_.weight.get() && mlp_norm_.weight.get(),
          model_type_ + " block: the attention norm and the MLP norm must be set before a run");

  const std::lock_guard<std::mutex> lock(device.mutex());
  const cudaStream_t st = device.stream();
  const std::int64_t rows = batch * seq;
  Carver carve;
  RunSlices sl;
  RunBuffers &r = sl.r;
  r.batch = batch;  // the shape first: the attention's workspace follows it
  r.seq = seq;
  r.rows = rows;
  r.past = 0;
  carve_run(carve, sl, s, rows);
  DeviceBuffer arena(carve.bytes(),
                     "the activations of a batch " + std::to_string(batch) + " x " + std::to_string(seq) +
                         " calibration block",
                     st);
  carve.assign(arena.get());
  r.past_at = sl.past_at;
  r.hidden = hidden;
  r.k_cache = sl.keys;
  r.v_cache = sl.values;
  r.capacity = seq;
  r.layer_elements = 0;
  try {
    GPTQ_CUDA_CHECK(cudaMemsetAsync(sl.past_at, 0, static_cast<std::size_t>(batch) * sizeof *sl.past_at, st));
    if (inv_freq) {
      GPTQ_CUDA_CHECK(cudaMemcpyAsync(sl.inv_freq, inv_freq, static_cast<std::size_t>(s.head_dim / 2) * sizeof(float),
                                      cudaMemcpyHostToDevice, st));
      r.inv_freq = sl.inv_freq;
    }
    int widened = -1;  // the input sl.widened holds
    const LinearFor linear = [&](std::int32_t role, const __half *x, std::int64_t cols) -> const DeviceLinear & {
      if (device.cancelled()) throw Cancelled();
      if (observe) {
        const int input = input_of(role);
        if (input != widened) {
          to_float(x, rows * cols, sl.widened, st);
          widened = input;
        }
        observe(role, input, sl.widened, rows, cols);
      }
      const std::unique_ptr<DenseLinear> &l = linears_[role - GPTQ_PLUGIN_ROLE_Q];
      require(l != nullptr, model_type_ + " block: the " + role_name(role) + "'s weight was not set for this run");
      return *l;
    };
    const BlockNorms norms{attn_norm_.weight.as<const float>(), attn_norm_.bias.as<const float>(),
                           mlp_norm_.weight.as<const float>(), mlp_norm_.bias.as<const float>()};
    const LinearCall call{st, device.blas(), nullptr, 0};
    // Each linear apart: the observer sees each one's input, and the
    // calibration's weights are replaced one linear at a time.
    run_block(s, norm_kind_, act_, norms, linear, FusedFor(), 0, r, call);
  } catch (...) {
    // No work left queued on the caller's buffers, and the scratch back in
    // the device's free memory before the caller looks.
    arena = DeviceBuffer();
    (void)cudaStreamSynchronize(st);
    throw;
  }
  arena = DeviceBuffer();
  GPTQ_CUDA_CHECK(cudaStreamSynchronize(st));
}

}  // namespace gptq::cuda
