// Fuzzes the config codec (core/config/codec.h): the input bytes are tried as
// JSON and as a binary flatbuffer for every kind. Anything but success or
// gptq::Error(InvalidArgument) is a finding (a crash, a sanitizer report, another
// exception), and so is output that does not read back to itself: what the
// codec writes it must accept, unchanged.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "core/config/codec.h"
#include "core/base/error.h"

namespace {

using gptq::config::Encoding;
using gptq::config::Kind;

void check(bool ok) {
  if (!ok) std::abort();
}

void fuzz_one(Kind kind, std::span<const uint8_t> in, Encoding enc) {
  std::vector<uint8_t> json;
  try {
    json = gptq::config::convert(kind, in, enc, Encoding::Json);
  } catch (const gptq::Error &e) {
    check(e.status() == gptq::Status::InvalidArgument);
    return;
  }
  // Accepted: its JSON and binary forms must be fixed points.
  const std::vector<uint8_t> binary =
      gptq::config::convert(kind, json, Encoding::Json, Encoding::Binary);
  check(gptq::config::convert(kind, binary, Encoding::Binary, Encoding::Json) == json);
  check(gptq::config::convert(kind, json, Encoding::Json, Encoding::Json) == json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  for (Kind kind : gptq::config::kAllKinds) {
    fuzz_one(kind, in, Encoding::Json);
    fuzz_one(kind, in, Encoding::Binary);
  }
  return 0;
}
