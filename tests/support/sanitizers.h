// GPTQ_UNDER_ASAN: defined when the test is built with AddressSanitizer, for
// tests whose work is too slow there (they skip and say so).
#pragma once

// gcc says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer).
#if defined(__SANITIZE_ADDRESS__)
#define GPTQ_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GPTQ_UNDER_ASAN 1
#endif
#endif
