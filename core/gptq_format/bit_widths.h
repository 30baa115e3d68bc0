// The bit widths the GPTQ packing holds (core/gptq_format/gptq_packing.h):
// the one list every check of `bits` uses (the packer, the quantizer, the
// quantization_config reader). The schema's `gptq_allowed: "2|3|4|8"` on
// QuantizeConfig.bits says the same; tests/core/gptq_format/bit_widths_test
// holds them equal.
#pragma once

#include <algorithm>
#include <array>

namespace gptq::quant {

inline constexpr std::array<int, 4> kGptqBitWidths = {2, 3, 4, 8};

// How messages name the list.
inline constexpr const char *kGptqBitWidthsText = "2, 3, 4 or 8";

constexpr bool is_gptq_bit_width(int bits) {
  return std::find(kGptqBitWidths.begin(), kGptqBitWidths.end(), bits) != kGptqBitWidths.end();
}

}  // namespace gptq::quant
