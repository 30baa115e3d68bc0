// What quantizing one weight matrix produces (GPTQ and RTN alike).
//
// Layouts follow the HF nn.Linear weight W[N][K] (N output rows, K input
// columns), so they map directly onto the GPTQ checkpoint tensors:
// codes [N][K] in the original column order, scales/zeros [G][N], g_idx [K].
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/tensor/held_matrix.h"

namespace gptq::quant {

struct QuantResult {
  std::int64_t rows = 0;    // N
  std::int64_t cols = 0;    // K
  int bits = 0;
  std::int64_t groups = 0;  // G: K / group_size, or 1 for per-channel
  std::vector<std::uint8_t> codes;   // [N][K] integer codes in [0, 2^bits - 1]
  std::vector<float> scales;         // [G][N]
  std::vector<std::int32_t> zeros;   // [G][N] true zero points (format v2 meaning)
  std::vector<std::int32_t> g_idx;   // [K] group of each input column
  std::vector<float> dequant;        // [N][K] scales[g][n] * (codes - zeros[g][n]); empty when held
  // The same values left where the engine computed them (QuantizeEngine::
  // solve's forward_rows), instead of `dequant`; null otherwise.
  std::shared_ptr<const HeldMatrix> held_dequant;
  std::vector<std::int32_t> perm;    // act-order permutation (perm[i] = column quantized i-th); empty without act-order
  double loss = 0.0;                 // sum over weights of ((w - q) / d)^2 / 2; 0 for RTN
  double damp_percent = 0.0;         // damping fraction finally used (after retries)
  double factor_seconds = 0.0;       // wall time of the damped inverse Cholesky (retries included); 0 for RTN
};

}  // namespace gptq::quant
