#include "core/cpu/blas_kernel_advice.h"

#include <cblas.h>

#include <array>
#include <cstdlib>

namespace gptq {
namespace {

// OpenBLAS x86-64 cores without AVX2 kernels (names as openblas_get_corename
// prints them), and those with AVX-512 ones.
constexpr std::array<std::string_view, 10> kPreAvx2 = {"Prescott", "Core2",  "Penryn",     "Dunnington", "Nehalem",
                                                       "Atom",     "Barcelona", "Bobcat", "Sandybridge", "Bulldozer"};
constexpr std::array<std::string_view, 3> kAvx512 = {"SkylakeX", "Cooperlake", "SapphireRapids"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N> &names, std::string_view core) {
  for (std::string_view n : names)
    if (core.size() == n.size() && std::equal(n.begin(), n.end(), core.begin(), [](char a, char b) {
          return (a | 0x20) == (b | 0x20);
        }))
      return true;
  return false;
}

}  // namespace

std::optional<std::string> blas_kernel_advice(std::string_view core, CpuVector cpu, const char *coretype_env) {
  if (coretype_env != nullptr && *coretype_env != '\0') return std::nullopt;
  std::string better;
  if (cpu.avx512f && !contains(kAvx512, core)) {
    better = "SkylakeX";
    if (!contains(kPreAvx2, core)) return std::nullopt;  // AVX2 kernels: close enough, don't nag
  } else if (cpu.avx2 && contains(kPreAvx2, core)) {
    better = "Haswell";
  } else {
    return std::nullopt;
  }
  return "OpenBLAS runs its '" + std::string(core) + "' kernels on this CPU, which has " +
         (cpu.avx512f ? "AVX-512" : "AVX2") +
         " (it does not recognise the CPU model): matrix products run several times slower than they "
         "could. Set OPENBLAS_CORETYPE=" + better + " in the environment before starting the process.";
}

std::optional<std::string> blas_kernel_advice() {
  __builtin_cpu_init();
  const CpuVector cpu{__builtin_cpu_supports("avx2") != 0, __builtin_cpu_supports("avx512f") != 0};
  const char *core = openblas_get_corename();
  return blas_kernel_advice(core ? core : "", cpu, std::getenv("OPENBLAS_CORETYPE"));
}

}  // namespace gptq
