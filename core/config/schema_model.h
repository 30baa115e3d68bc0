// schema/gptq.fbs as the config codec sees it: the embedded schema text parsed
// once (thread-safely, on first use) into flatbuffers' IDL definitions, plus
// what the codec needs per field — its default as a Scalar, its gptq_* bounds,
// whether an absent sub-table stays absent (gptq_optional).
//
// Loading also checks the schema itself (supported field types, bounds that
// parse, defaults inside their own bounds) and throws Internal when it is
// wrong, so a bad edit of gptq.fbs fails the first test that touches a config.
#pragma once

#include <flatbuffers/idl.h>

#include <memory>
#include <unordered_map>

#include "core/config/field_rules.h"
#include "core/config/kind.h"
#include "core/config/scalar.h"

namespace gptq::config {

struct FieldInfo {
  Scalar default_value;         // scalar fields only
  FieldRules rules;             // scalars and vectors of scalars
  bool optional_table = false;  // gptq_optional: an absent sub-table is not filled in
};

class SchemaModel {
 public:
  // The one instance; built on first call (a function-local static).
  static const SchemaModel &get();

  // The root table of a kind. Throws InvalidArgument for an unknown kind.
  const flatbuffers::StructDef &table(Kind kind) const;
  const FieldInfo &info(const flatbuffers::FieldDef &field) const;

  // A fresh parser holding the schema with the kind's table as root, for one
  // JSON-to-binary conversion: flatbuffers::Parser keeps the parsed data in
  // itself, so it cannot be shared between threads or calls.
  std::unique_ptr<flatbuffers::Parser> json_parser(Kind kind) const;

  SchemaModel(const SchemaModel &) = delete;
  SchemaModel &operator=(const SchemaModel &) = delete;

 private:
  SchemaModel();
  void load_table(const flatbuffers::StructDef &table);

  flatbuffers::Parser parser_;
  std::unordered_map<const flatbuffers::FieldDef *, FieldInfo> info_;
};

// True when `def` is a table (not a fixed-size struct).
inline bool is_table(const flatbuffers::StructDef *def) { return def && !def->fixed; }

}  // namespace gptq::config
