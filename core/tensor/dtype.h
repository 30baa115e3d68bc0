// Element types of tensors, as stored in files and in memory. The engine's
// tensor type builds on this; the names are those of the safetensors format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gptq {

enum class DType : std::uint8_t {
  F32,
  F16,
  BF16,
  F64,
  I64,
  I32,
  I8,
  U8,
  Bool,
};

// Bytes per element.
std::size_t dtype_size(DType dtype) noexcept;

// The safetensors name: "F32", "F16", "BF16", "F64", "I64", "I32", "I8", "U8", "BOOL".
std::string_view dtype_name(DType dtype) noexcept;

// Inverse of dtype_name; nullopt for any other string (case-sensitive, as the format is).
std::optional<DType> dtype_from_name(std::string_view name) noexcept;

// The torch name used in config.json ("float16", "bfloat16", "float32", ...);
// nullopt for names with no DType here.
std::optional<DType> dtype_from_torch_name(std::string_view name) noexcept;

}  // namespace gptq
