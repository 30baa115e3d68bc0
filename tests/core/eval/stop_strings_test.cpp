// StopStringFilter: text is released only when it cannot start a stop string.
#include "core/eval/stop_strings.h"

#include <gtest/gtest.h>

namespace gptq::eval {
namespace {

TEST(StopStrings, CutsAtTheStopAndHoldsBackAPossibleStart) {
  StopStringFilter f({"world"});
  EXPECT_EQ(f.push("Hello wor"), "Hello ");
  EXPECT_FALSE(f.stopped());
  EXPECT_EQ(f.push("ld. Bye"), "");
  EXPECT_TRUE(f.stopped());
  EXPECT_EQ(f.push("more"), "");
  EXPECT_EQ(f.finish(), "");
}

TEST(StopStrings, ReleasesAHeldPrefixThatDoesNotComplete) {
  StopStringFilter f({"abc"});
  EXPECT_EQ(f.push("xab"), "x");
  EXPECT_EQ(f.push("x"), "abx");
  EXPECT_EQ(f.push("a"), "");
  EXPECT_EQ(f.finish(), "a");
  EXPECT_FALSE(f.stopped());
}

TEST(StopStrings, EarliestOfSeveralWinsAndEmptyStopsAreIgnored) {
  StopStringFilter f({"", "cd", "b"});
  EXPECT_EQ(f.push("abcd"), "a");
  EXPECT_TRUE(f.stopped());
}

TEST(StopStrings, StopInsideOnePiece) {
  StopStringFilter f({"\n\n"});
  EXPECT_EQ(f.push("line one\n"), "line one");
  EXPECT_EQ(f.push("\nline two"), "");
  EXPECT_TRUE(f.stopped());
}

TEST(StopStrings, NoStopsPassEverything) {
  StopStringFilter f({});
  EXPECT_EQ(f.push("abc"), "abc");
  EXPECT_EQ(f.finish(), "");
}

}  // namespace
}  // namespace gptq::eval
