#include "core/tensor/dtype.h"

#include <array>

namespace gptq {
namespace {

struct DTypeInfo {
  DType dtype;
  std::size_t size;
  std::string_view name;
  std::string_view torch_name;
};

// One row per DType, in enum order (checked by the static_assert below).
constexpr std::array<DTypeInfo, 9> kInfo{{
    {DType::F32, 4, "F32", "float32"},
    {DType::F16, 2, "F16", "float16"},
    {DType::BF16, 2, "BF16", "bfloat16"},
    {DType::F64, 8, "F64", "float64"},
    {DType::I64, 8, "I64", "int64"},
    {DType::I32, 4, "I32", "int32"},
    {DType::I8, 1, "I8", "int8"},
    {DType::U8, 1, "U8", "uint8"},
    {DType::Bool, 1, "BOOL", "bool"},
}};

constexpr bool rows_in_enum_order() {
  for (std::size_t i = 0; i < kInfo.size(); ++i)
    if (static_cast<std::size_t>(kInfo[i].dtype) != i) return false;
  return true;
}
static_assert(rows_in_enum_order(), "kInfo rows must follow the DType enum order");

const DTypeInfo &info(DType dtype) noexcept { return kInfo[static_cast<std::size_t>(dtype)]; }

}  // namespace

std::size_t dtype_size(DType dtype) noexcept { return info(dtype).size; }

std::string_view dtype_name(DType dtype) noexcept { return info(dtype).name; }

std::optional<DType> dtype_from_name(std::string_view name) noexcept {
  for (const DTypeInfo &row : kInfo)
    if (row.name == name) return row.dtype;
  return std::nullopt;
}

std::optional<DType> dtype_from_torch_name(std::string_view name) noexcept {
  // transformers writes "float16"; some older configs carry the "torch." prefix.
  if (name.starts_with("torch.")) name.remove_prefix(6);
  for (const DTypeInfo &row : kInfo)
    if (row.torch_name == name) return row.dtype;
  return std::nullopt;
}

}  // namespace gptq
