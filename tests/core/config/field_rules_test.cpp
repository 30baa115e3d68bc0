// core/config/field_rules.h on small schemas: how each gptq_* attribute reads
// and words its message, and which attribute mistakes are caught as schema
// errors (Internal) instead of silently checking nothing.
#include "core/config/field_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "core/base/error.h"

namespace gptq::config {
namespace {

using ::testing::HasSubstr;

constexpr const char *kAttributes =
    "attribute \"gptq_allowed\"; attribute \"gptq_min\"; attribute \"gptq_max\";"
    "attribute \"gptq_or\";";

// Parses `table T { ... }` and returns the rules of field `name`.
class Rules : public ::testing::Test {
 protected:
  FieldRules rules(const std::string &fields, const std::string &name) {
    parser_ = std::make_unique<flatbuffers::Parser>();
    const std::string text = std::string(kAttributes) + " table T { " + fields + " }";
    EXPECT_TRUE(parser_->Parse(text.c_str())) << parser_->error_;
    const flatbuffers::StructDef *t = parser_->structs_.Lookup("T");
    return read_field_rules(*t, *t->fields.Lookup(name));
  }
  std::string schema_error(const std::string &fields, const std::string &name) {
    try {
      rules(fields, name);
    } catch (const Error &e) {
      EXPECT_EQ(e.status(), Status::Internal);
      return e.what();
    }
    ADD_FAILURE() << "no schema error";
    return "";
  }
  static Scalar value(flatbuffers::BaseType type, const char *text) {
    return *parse_scalar(type, text);
  }
  std::unique_ptr<flatbuffers::Parser> parser_;
};

TEST_F(Rules, NoAttributesNoRules) {
  const FieldRules r = rules("a: int;", "a");
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.violation(value(flatbuffers::BASE_TYPE_INT, "-5")));
}

TEST_F(Rules, MinOnlyAndMaxOnly) {
  const FieldRules lo = rules("a: long (gptq_min: \"3\");", "a");
  EXPECT_EQ(*lo.violation(value(flatbuffers::BASE_TYPE_LONG, "2")),
            "2 is out of range (allowed: >= 3)");
  EXPECT_FALSE(lo.violation(value(flatbuffers::BASE_TYPE_LONG, "9223372036854775807")));
  const FieldRules hi = rules("b: double (gptq_max: \"1.5\");", "b");
  EXPECT_EQ(*hi.violation(value(flatbuffers::BASE_TYPE_DOUBLE, "1.75")),
            "1.75 is out of range (allowed: <= 1.5)");
}

TEST_F(Rules, UnsignedAndFloatBounds) {
  const FieldRules u =
      rules("a: ulong (gptq_min: \"1\", gptq_max: \"18446744073709551615\");", "a");
  EXPECT_FALSE(u.violation(value(flatbuffers::BASE_TYPE_ULONG, "18446744073709551615")));
  EXPECT_TRUE(u.violation(value(flatbuffers::BASE_TYPE_ULONG, "0")));
  // A float bound compares as the float it rounds to.
  const FieldRules f = rules("a: float (gptq_min: \"0.1\");", "a");
  EXPECT_FALSE(f.violation(value(flatbuffers::BASE_TYPE_FLOAT, "0.1")));
}

TEST_F(Rules, AllowedOnAVectorAppliesToElements) {
  const FieldRules r = rules("v: [short] (gptq_allowed: \"1|-1\");", "v");
  EXPECT_EQ(*r.violation(value(flatbuffers::BASE_TYPE_SHORT, "0")),
            "0 is not allowed (allowed: 1, -1)");
}

TEST_F(Rules, SchemaMistakesAreInternalErrors) {
  EXPECT_THAT(schema_error("a: int (gptq_min: \"x\");", "a"),
              HasSubstr("T.a: gptq_min \"x\" is not a int"));
  EXPECT_THAT(schema_error("a: int (gptq_min: \"1.5\");", "a"), HasSubstr("is not a int"));
  EXPECT_THAT(schema_error("a: byte (gptq_max: \"300\");", "a"), HasSubstr("is not a byte"));
  EXPECT_THAT(schema_error("a: int (gptq_allowed: \"2||4\");", "a"), HasSubstr("gptq_allowed"));
  EXPECT_THAT(schema_error("a: int (gptq_or: \"-1\");", "a"),
              HasSubstr("gptq_or needs gptq_min or gptq_max"));
  EXPECT_THAT(schema_error("a: int (gptq_allowed: \"1\", gptq_min: \"0\");", "a"),
              HasSubstr("cannot be combined"));
  EXPECT_THAT(schema_error("a: int (gptq_min: \"5\", gptq_max: \"4\");", "a"),
              HasSubstr("greater than gptq_max"));
  EXPECT_THAT(schema_error("a: string (gptq_min: \"1\");", "a"), HasSubstr("need a numeric field"));
  EXPECT_THAT(schema_error("a: bool (gptq_allowed: \"1\");", "a"),
              HasSubstr("need a numeric field"));
}

}  // namespace
}  // namespace gptq::config
