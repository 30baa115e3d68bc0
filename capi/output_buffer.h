// The one implementation of the caller's-buffer rule of gptq.h: report the
// size, refuse a short buffer with GPTQ_ERR_BUFFER_TOO_SMALL without writing,
// NUL-terminate text.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>

#include "core/base/error.h"

namespace gptq::capi {

// Copies `size` bytes (+ a NUL when `text`) into out[0..cap); *out_size = size.
inline void write_output(const void *data, size_t size, bool text, void *out, size_t cap,
                         size_t *out_size) {
  *out_size = size;
  const size_t need = size + (text ? 1 : 0);
  if (need > cap)
    fail(Status::BufferTooSmall, "buffer too small: " + std::to_string(cap) + " bytes given, " +
                                     std::to_string(need) + " needed (the size was reported)");
  if (size) std::memcpy(out, data, size);
  if (text) static_cast<char *>(out)[size] = '\0';
}

}  // namespace gptq::capi
