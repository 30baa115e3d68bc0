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

// The same rule for an array of `n` elements of T: `cap` and *count in
// elements (so a capacity is never multiplied into bytes, where it could wrap).
template <class T>
void write_elements(const T *data, size_t n, T *out, size_t cap, size_t *count) {
  *count = n;
  if (n > cap)
    fail(Status::BufferTooSmall, "buffer too small: " + std::to_string(cap) + " elements given, " +
                                     std::to_string(n) + " needed (the count was reported)");
  if (n) std::memcpy(out, data, n * sizeof(T));
}

}  // namespace gptq::capi
