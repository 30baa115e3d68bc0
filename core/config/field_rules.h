// The bounds of one field, read from its gptq_* attributes in schema/gptq.fbs
// (see the comment at the top of that file). Both encodings are range-checked
// by this one piece of code: JSON is first turned into a binary flatbuffer, and
// the binary checker (binary_check.h) applies these rules to every scalar.
#pragma once

#include <flatbuffers/idl.h>

#include <optional>
#include <string>
#include <vector>

#include "core/config/scalar.h"

namespace gptq::config {

struct FieldRules {
  std::vector<Scalar> allowed;     // gptq_allowed: the value must be one of these
  std::optional<Scalar> min;       // gptq_min (inclusive)
  std::optional<Scalar> max;       // gptq_max (inclusive)
  std::optional<Scalar> or_value;  // gptq_or: one extra value outside [min, max]
  std::string allowed_text;        // what the message lists, e.g. "2, 3, 4, 8"

  bool empty() const { return allowed.empty() && !min && !max; }

  // Why `value` breaks the rules, e.g. "5 is not allowed (allowed: 2, 3, 4, 8)"
  // or "8 is out of range (allowed: -1 or 16..1048576)"; nullopt when it is fine.
  std::optional<std::string> violation(const Scalar &value) const;
};

// Reads the gptq_* attributes of a scalar field or a vector-of-scalars field
// (the bounds then apply to each element). Throws Internal naming the field
// when an attribute does not parse as the field's type or the combination makes
// no sense: the schema is wrong, not the caller's config.
FieldRules read_field_rules(const flatbuffers::StructDef &table,
                            const flatbuffers::FieldDef &field);

}  // namespace gptq::config
