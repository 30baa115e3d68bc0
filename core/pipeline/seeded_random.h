// The one pseudo-random generator of quantization (calibration window
// offsets): SplitMix64 (Steele, Lea, Flood 2014), chosen because its output
// is defined bit for bit by a few lines of integer arithmetic, so every
// platform, compiler and a Python reference produce the same sequence from
// the same seed. std::uniform_int_distribution is not specified that exactly.
//
//   next():  state += 0x9E3779B97F4A7C15;
//            z = state;
//            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
//            return z ^ (z >> 31);            (all mod 2^64)
//   below(n): draws r = next() until r >= (2^64 - n) mod n, returns r mod n
//            (rejection, so every value in [0, n) is equally likely).
#pragma once

#include <cstdint>

namespace gptq::quant {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n); n must be > 0.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;  // (2^64 - n) mod n
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }

 private:
  std::uint64_t state_;
};

}  // namespace gptq::quant
