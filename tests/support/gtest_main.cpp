// main() of every GoogleTest executable. It differs from gtest_main in one
// way: when every test case of the executable skipped and none failed, it
// exits with 77, which ctest reports as "skipped" (SKIP_RETURN_CODE). A
// binary with some skipped and some failed cases fails; one with some skipped
// and the rest passing passes (the skips are listed in its output).
#include <gtest/gtest.h>

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  const auto *unit = ::testing::UnitTest::GetInstance();
  if (rc == 0 && unit->successful_test_count() == 0 && unit->skipped_test_count() > 0) return 77;
  return rc;
}
