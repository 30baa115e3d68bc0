// IEEE 754 binary16 <-> binary32 conversion in portable C++ (no F16C needed):
// checkpoint scales are stored as fp16, and the conversion must agree bit for
// bit with torch's `.half()` (round to nearest, ties to even; subnormals kept;
// overflow to inf; NaN stays NaN with its payload's top bits).
#pragma once

#include <bit>
#include <cstdint>

namespace gptq {

inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu;
  std::uint32_t mant = h & 0x3FFu;
  std::uint32_t bits;
  if (exp == 0x1Fu) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf or NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);  // 112 = 127 - 15
  } else if (mant == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half: value = mant * 2^-24; normalise it for binary32.
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while ((mant & 0x400u) == 0);
    bits = sign | (static_cast<std::uint32_t>(112 - e) << 23) | ((mant & 0x3FFu) << 13);
  }
  return std::bit_cast<float>(bits);
}

inline std::uint16_t float_to_half(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // inf or NaN; a NaN keeps a set quiet bit
    const std::uint16_t nan = abs > 0x7F800000u ? static_cast<std::uint16_t>(0x200u | ((abs >> 13) & 0x3FFu)) : 0;
    return static_cast<std::uint16_t>(sign | 0x7C00u | nan);
  }
  if (abs >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // rounds past 65504
  if (abs < 0x38800000u) {
    // Result is subnormal (or zero) in half: shift the full significand into
    // place and round to nearest even on the bits shifted out.
    if (abs < 0x33000000u) return sign;  // below half the smallest subnormal: ±0
    const std::uint32_t e = abs >> 23;
    const std::uint32_t m = (abs & 0x7FFFFFu) | 0x800000u;
    const std::uint32_t shift = 126u - e;  // 14..24 for e in [102, 112]
    std::uint32_t r = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (r & 1u))) ++r;
    return static_cast<std::uint16_t>(sign | r);
  }
  // Normal: rebias the exponent and round the 13 dropped mantissa bits to even;
  // a carry out of the mantissa correctly bumps the exponent.
  std::uint32_t r = abs - 0x38000000u;  // (127 - 15) << 23
  r += 0xFFFu + ((r >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | (r >> 13));
}

}  // namespace gptq
