// A scalar field value of any flatbuffers scalar type, read generically through
// the schema (flatbuffers' IDL FieldDef) rather than through generated
// accessors, so the range checker and the JSON writer work for every table.
//
// Integers keep their full 64-bit value (signed or unsigned); float and double
// are held as double. Comparisons and formatting know the field's base type, so
// a float field prints as the shortest text that reads back to the same float.
#pragma once

#include <flatbuffers/idl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gptq::config {

struct Scalar {
  enum class Repr { Signed, Unsigned, Floating };

  flatbuffers::BaseType type = flatbuffers::BASE_TYPE_INT;
  int64_t i = 0;   // Repr::Signed
  uint64_t u = 0;  // Repr::Unsigned (bool and unsigned integers)
  double f = 0;    // Repr::Floating (float and double)

  Repr repr() const;
  // Exact comparison of two values of the same base type.
  bool operator==(const Scalar &o) const;
  bool less_than(const Scalar &o) const;
  // Shortest text that reads back to the same value of this type.
  std::string to_string() const;
};

// How a base type is held in Scalar; throws Internal for non-scalar types.
Scalar::Repr repr_of(flatbuffers::BaseType type);

// Parses schema text (a default constant or a gptq_* attribute) as a value of
// `type`; nullopt when it is not a number of that type or does not fit it.
std::optional<Scalar> parse_scalar(flatbuffers::BaseType type, std::string_view text);

// Whether an integer fits in an integer base type.
bool fits(flatbuffers::BaseType type, int64_t v);
bool fits_unsigned(flatbuffers::BaseType type, uint64_t v);

// Reads a scalar field of a table, or `default_value` when it is absent or the
// table is null. The buffer must have been verified.
Scalar read_scalar_field(const flatbuffers::FieldDef &field, const flatbuffers::Table *table,
                         const Scalar &default_value);

// Reads element `index` of a verified vector of scalars of base type `type`.
Scalar read_scalar_element(flatbuffers::BaseType type, const uint8_t *data, size_t index);

// The double that prints (shortest round-trip) as the float's own shortest
// text, e.g. 0.1f -> 0.1 rather than 0.10000000149011612.
double float_as_short_double(float value);

// "int", "ulong", "float", ... as written in the schema.
std::string_view type_name(flatbuffers::BaseType type);

}  // namespace gptq::config
