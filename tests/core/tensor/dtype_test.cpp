#include "core/tensor/dtype.h"

#include <gtest/gtest.h>

namespace gptq {
namespace {

TEST(DType, SizesAndNamesRoundTrip) {
  const struct {
    DType dtype;
    std::size_t size;
    const char *name;
    const char *torch;
  } rows[] = {{DType::F32, 4, "F32", "float32"}, {DType::F16, 2, "F16", "float16"},
              {DType::BF16, 2, "BF16", "bfloat16"}, {DType::F64, 8, "F64", "float64"},
              {DType::I64, 8, "I64", "int64"},   {DType::I32, 4, "I32", "int32"},
              {DType::I8, 1, "I8", "int8"},      {DType::U8, 1, "U8", "uint8"},
              {DType::Bool, 1, "BOOL", "bool"}};
  for (const auto &r : rows) {
    EXPECT_EQ(dtype_size(r.dtype), r.size) << r.name;
    EXPECT_EQ(dtype_name(r.dtype), r.name);
    EXPECT_EQ(dtype_from_name(r.name), r.dtype);
    EXPECT_EQ(dtype_from_torch_name(r.torch), r.dtype);
  }
}

TEST(DType, UnknownNames) {
  EXPECT_FALSE(dtype_from_name("f32").has_value());  // the format is case-sensitive
  EXPECT_FALSE(dtype_from_name("F8_E4M3").has_value());
  EXPECT_FALSE(dtype_from_torch_name("float8_e4m3fn").has_value());
  EXPECT_EQ(dtype_from_torch_name("torch.float16"), DType::F16);
}

}  // namespace
}  // namespace gptq
