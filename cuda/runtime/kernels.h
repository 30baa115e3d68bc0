// The elementwise and row kernels of the forward pass (everything but the
// matrix products, cuda/device_linear.h, and attention, attention.h).
// Activations are fp16, the residual stream fp32; every reduction and
// transcendental is computed in fp32 (norm statistics in fp32 with a
// two-level tree, not the CPU's double: well inside fp16's rounding).
// Each launcher only enqueues on `stream` and checks the launch; every
// kernel is launched chained (cuda/kernels/chained_launch.h), so each one
// starts while the kernel before it drains.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace gptq::cuda {

enum class NormKind { Rms, Layer };
enum class ActKind { Silu, Relu, Gelu, GeluTanh };

// out[r][:] = table[ids[r]][:] (width columns).
void embed_rows(const std::int32_t *ids, const __half *table, std::int64_t rows, std::int64_t width, __half *out,
                cudaStream_t stream);

// hidden[r][c] = src[r][c] + positions[past[r / seq] + r % seq + offset][c]
// (positions may be null: no learned positions), in fp32. `past` (each
// sequence's first position, [batch]) lives in device memory, as in
// rope_and_store_kv, so that a captured decode step replays at the cache's
// growing (and, in a batch, different) lengths.
void to_hidden(const __half *src, const __half *positions, std::int64_t rows, std::int64_t width, std::int64_t seq,
               const std::int64_t *past, std::int64_t offset, float *hidden, cudaStream_t stream);

// Row-wise RMSNorm or LayerNorm of x [rows][width] with weight (and bias, may
// be null); out is fp16 (a linear's input) or fp32 (post-norm's residual,
// may alias x).
void norm_rows(NormKind kind, const float *x, const float *weight, const float *bias, double eps, std::int64_t rows,
               std::int64_t width, __half *out, cudaStream_t stream);
void norm_rows(NormKind kind, const float *x, const float *weight, const float *bias, double eps, std::int64_t rows,
               std::int64_t width, float *out, cudaStream_t stream);

// out[i] = x[i] rounded to fp16.
void to_half(const float *x, std::int64_t n, __half *out, cudaStream_t stream);

// out[i] = x[i] widened to fp32 (a linear's input as the calibration
// observer sees it).
void to_float(const __half *x, std::int64_t n, float *out, cudaStream_t stream);

// hidden[i] += y[i].
void add_residual(float *hidden, const __half *y, std::int64_t n, cudaStream_t stream);

// add_residual of y [rows][width] into hidden, then norm_rows of hidden into
// out, in one kernel that reads each row once (a pre-norm block's residual
// add and the norm after it): the same bits as the two calls.
void add_residual_norm(NormKind kind, float *hidden, const __half *y, const float *weight, const float *bias,
                       double eps, std::int64_t rows, std::int64_t width, __half *out, cudaStream_t stream);

// gate[i] = act(gate[i]) * up[i] (up may be null: act alone).
void activate(ActKind act, __half *gate, const __half *up, std::int64_t n, cudaStream_t stream);

// y[r][c] += bias[c] for y [rows][cols] (fp16 or fp32).
void add_bias(__half *y, const float *bias, std::int64_t rows, std::int64_t cols, cudaStream_t stream);
void add_bias(float *y, const float *bias, std::int64_t rows, std::int64_t cols, cudaStream_t stream);

// RoPE (rotate-half, angle = position * inv_freq[i] in fp32) on q in place
// and on k, then k and v stored into a layer's cache: k_cache/v_cache
// [batch][kv_heads][capacity][head_dim], rows b * seq + i at position
// past[b] + i (past: [batch], device memory). inv_freq null: no rotation
// (learned positions).
void rope_and_store_kv(__half *q, const __half *k, const __half *v, const float *inv_freq, std::int64_t batch,
                       std::int64_t seq, const std::int64_t *past, std::int64_t heads, std::int64_t kv_heads,
                       std::int64_t head_dim, __half *k_cache, __half *v_cache, std::int64_t capacity,
                       cudaStream_t stream);

// out[b][:] = x[b * seq + counts[b] - 1][:] (each sequence's last valid row;
// counts: [batch] in device memory, a count of 0 taking row 0; null: every
// count is seq).
void last_rows(const float *x, std::int64_t batch, std::int64_t seq, const std::int64_t *counts, std::int64_t width,
               float *out, cudaStream_t stream);

}  // namespace gptq::cuda
