#include "core/config/scalar.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/base/error.h"

namespace gptq::config {
namespace {

using flatbuffers::BaseType;

// Calls f with a value-initialized object of the C++ type that stores `type`.
template <class F>
decltype(auto) with_ctype(BaseType type, F &&f) {
  switch (type) {
    case flatbuffers::BASE_TYPE_BOOL:
    case flatbuffers::BASE_TYPE_UTYPE:
    case flatbuffers::BASE_TYPE_UCHAR: return f(uint8_t{});
    case flatbuffers::BASE_TYPE_CHAR: return f(int8_t{});
    case flatbuffers::BASE_TYPE_SHORT: return f(int16_t{});
    case flatbuffers::BASE_TYPE_USHORT: return f(uint16_t{});
    case flatbuffers::BASE_TYPE_INT: return f(int32_t{});
    case flatbuffers::BASE_TYPE_UINT: return f(uint32_t{});
    case flatbuffers::BASE_TYPE_LONG: return f(int64_t{});
    case flatbuffers::BASE_TYPE_ULONG: return f(uint64_t{});
    case flatbuffers::BASE_TYPE_FLOAT: return f(float{});
    case flatbuffers::BASE_TYPE_DOUBLE: return f(double{});
    default: break;
  }
  fail(Status::Internal,
       "config: base type " + std::to_string(static_cast<int>(type)) + " is not a scalar");
}

template <class T>
Scalar make_scalar(BaseType type, T v) {
  Scalar s;
  s.type = type;
  if constexpr (std::is_floating_point_v<T>) {
    s.f = static_cast<double>(v);
  } else if constexpr (std::is_signed_v<T>) {
    s.i = static_cast<int64_t>(v);
  } else {
    s.u = static_cast<uint64_t>(v);
  }
  return s;
}

template <class T>
T scalar_as(const Scalar &s) {
  switch (s.repr()) {
    case Scalar::Repr::Signed: return static_cast<T>(s.i);
    case Scalar::Repr::Unsigned: return static_cast<T>(s.u);
    case Scalar::Repr::Floating: return static_cast<T>(s.f);
  }
  return T{};
}

template <class T>
std::string shortest(T v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

template <class T>
bool parse_all(std::string_view text, T &out) {
  auto r = std::from_chars(text.data(), text.data() + text.size(), out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

}  // namespace

Scalar::Repr repr_of(BaseType type) {
  return with_ctype(type, [](auto v) {
    using T = decltype(v);
    if constexpr (std::is_floating_point_v<T>)
      return Scalar::Repr::Floating;
    else if constexpr (std::is_signed_v<T>)
      return Scalar::Repr::Signed;
    else
      return Scalar::Repr::Unsigned;
  });
}

Scalar::Repr Scalar::repr() const { return repr_of(type); }

bool Scalar::operator==(const Scalar &o) const {
  switch (repr()) {
    case Repr::Signed: return i == o.i;
    case Repr::Unsigned: return u == o.u;
    case Repr::Floating: return f == o.f;
  }
  return false;
}

bool Scalar::less_than(const Scalar &o) const {
  switch (repr()) {
    case Repr::Signed: return i < o.i;
    case Repr::Unsigned: return u < o.u;
    case Repr::Floating: return f < o.f;
  }
  return false;
}

std::string Scalar::to_string() const {
  switch (repr()) {
    case Repr::Signed: return std::to_string(i);
    case Repr::Unsigned: return std::to_string(u);
    case Repr::Floating:
      return type == flatbuffers::BASE_TYPE_FLOAT ? shortest(static_cast<float>(f)) : shortest(f);
  }
  return {};
}

bool fits(BaseType type, int64_t v) {
  return with_ctype(type, [v](auto t) {
    using T = decltype(t);
    if constexpr (std::is_floating_point_v<T>) {
      return true;
    } else if constexpr (std::is_signed_v<T>) {
      return v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max();
    } else {
      return v >= 0 && static_cast<uint64_t>(v) <= std::numeric_limits<T>::max();
    }
  });
}

bool fits_unsigned(BaseType type, uint64_t v) {
  if (type == flatbuffers::BASE_TYPE_BOOL) return v <= 1;
  return with_ctype(type, [v](auto t) {
    using T = decltype(t);
    if constexpr (std::is_floating_point_v<T>) {
      return true;
    } else {
      return v <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    }
  });
}

std::optional<Scalar> parse_scalar(BaseType type, std::string_view text) {
  Scalar s;
  s.type = type;
  switch (repr_of(type)) {
    case Scalar::Repr::Signed:
      if (!parse_all(text, s.i) || !fits(type, s.i)) return std::nullopt;
      return s;
    case Scalar::Repr::Unsigned:
      if (!parse_all(text, s.u) || !fits_unsigned(type, s.u)) return std::nullopt;
      return s;
    case Scalar::Repr::Floating:
      if (!parse_all(text, s.f) || !std::isfinite(s.f)) return std::nullopt;
      if (type == flatbuffers::BASE_TYPE_FLOAT) {
        // Bounds and defaults of a float field compare as the float they round
        // to, so 0.01 in the schema admits the float 0.01f (just below 0.01).
        if (std::fabs(s.f) > std::numeric_limits<float>::max()) return std::nullopt;
        s.f = static_cast<double>(static_cast<float>(s.f));
      }
      return s;
  }
  return std::nullopt;
}

Scalar read_scalar_field(const flatbuffers::FieldDef &field, const flatbuffers::Table *table,
                         const Scalar &default_value) {
  const BaseType type = field.value.type.base_type;
  return with_ctype(type, [&](auto t) {
    using T = decltype(t);
    const T def = scalar_as<T>(default_value);
    return make_scalar(type, table ? table->GetField<T>(field.value.offset, def) : def);
  });
}

Scalar read_scalar_element(BaseType type, const uint8_t *data, size_t index) {
  return with_ctype(type, [&](auto t) {
    using T = decltype(t);
    return make_scalar(type, flatbuffers::ReadScalar<T>(data + index * sizeof(T)));
  });
}

double float_as_short_double(float value) {
  const std::string text = shortest(value);
  double d = static_cast<double>(value);
  parse_all(std::string_view(text), d);
  return d;
}

std::string_view type_name(BaseType type) {
  switch (type) {
    case flatbuffers::BASE_TYPE_BOOL: return "bool";
    case flatbuffers::BASE_TYPE_CHAR: return "byte";
    case flatbuffers::BASE_TYPE_UTYPE:
    case flatbuffers::BASE_TYPE_UCHAR: return "ubyte";
    case flatbuffers::BASE_TYPE_SHORT: return "short";
    case flatbuffers::BASE_TYPE_USHORT: return "ushort";
    case flatbuffers::BASE_TYPE_INT: return "int";
    case flatbuffers::BASE_TYPE_UINT: return "uint";
    case flatbuffers::BASE_TYPE_LONG: return "long";
    case flatbuffers::BASE_TYPE_ULONG: return "ulong";
    case flatbuffers::BASE_TYPE_FLOAT: return "float";
    case flatbuffers::BASE_TYPE_DOUBLE: return "double";
    case flatbuffers::BASE_TYPE_STRING: return "string";
    case flatbuffers::BASE_TYPE_VECTOR: return "vector";
    case flatbuffers::BASE_TYPE_STRUCT: return "table";
    case flatbuffers::BASE_TYPE_UNION: return "union";
    default: return "unsupported type";
  }
}

}  // namespace gptq::config
