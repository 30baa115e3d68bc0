// UTF-8 validation for strings read from binary flatbuffers: the Verifier only
// checks bounds, and JSON output must be valid UTF-8.
#pragma once

#include <string_view>

namespace gptq::config {

// Well-formed UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates,
// nothing above U+10FFFF. Embedded NULs are allowed (JSON escapes them).
bool is_valid_utf8(std::string_view s);

}  // namespace gptq::config
