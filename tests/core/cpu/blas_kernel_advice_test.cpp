#include "core/cpu/blas_kernel_advice.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace gptq {
namespace {

constexpr CpuVector kAvx512{true, true};
constexpr CpuVector kAvx2{true, false};
constexpr CpuVector kSse{false, false};

TEST(BlasKernelAdvice, GenericKernelsOnAnAvx512CpuNameTheFix) {
  const auto w = blas_kernel_advice("Prescott", kAvx512, nullptr);
  ASSERT_TRUE(w.has_value());
  EXPECT_NE(w->find("'Prescott'"), std::string::npos) << *w;
  EXPECT_NE(w->find("AVX-512"), std::string::npos) << *w;
  EXPECT_NE(w->find("OPENBLAS_CORETYPE=SkylakeX"), std::string::npos) << *w;
}

TEST(BlasKernelAdvice, PreAvx2KernelsOnAnAvx2CpuSuggestHaswell) {
  const auto w = blas_kernel_advice("Nehalem", kAvx2, nullptr);
  ASSERT_TRUE(w.has_value());
  EXPECT_NE(w->find("OPENBLAS_CORETYPE=Haswell"), std::string::npos) << *w;
}

TEST(BlasKernelAdvice, SilentWhenTheKernelsFit) {
  EXPECT_FALSE(blas_kernel_advice("SkylakeX", kAvx512, nullptr));
  EXPECT_FALSE(blas_kernel_advice("cooperlake", kAvx512, nullptr));  // case as some builds print it
  EXPECT_FALSE(blas_kernel_advice("Haswell", kAvx512, nullptr));     // AVX2 kernels: close enough
  EXPECT_FALSE(blas_kernel_advice("Haswell", kAvx2, nullptr));
  EXPECT_FALSE(blas_kernel_advice("Prescott", kSse, nullptr));       // nothing better exists
}

TEST(BlasKernelAdvice, SilentWhenTheUserChoseACore) {
  EXPECT_FALSE(blas_kernel_advice("Prescott", kAvx512, "Prescott"));
  EXPECT_TRUE(blas_kernel_advice("Prescott", kAvx512, ""));  // empty is unset
}

TEST(BlasKernelAdvice, ThisProcessReadsTheEnvironment) {
  // Whatever this machine is (printed so a CI log shows what OpenBLAS chose),
  // a core chosen in the environment silences the advice.
  const auto w = blas_kernel_advice();
  std::printf("advice here: %s\n", w ? w->c_str() : "(none)");
  ::setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  EXPECT_FALSE(blas_kernel_advice());
  ::unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace
}  // namespace gptq
