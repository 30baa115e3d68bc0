// An allocator for the large buffers of the CPU forward pass (activations of
// a whole calibration batch: tens to hundreds of MB, allocated and freed per
// linear): sizes from 1 MiB get their own anonymous mapping, returned to the
// system when freed; smaller ones come from operator new.
//
// Why: glibc's malloc raises its mmap threshold to the size of each mapped
// block it frees (up to 32 MiB), so activations below that size move onto its
// heap, where the interleaving of their lifetimes with the pipeline's other
// allocations leaves holes it cannot return: the peak RSS of `gptq quantize`
// then grew by tens of MB with the model's depth, or not, with the length of
// a path (bench/run_peak_memory_bench.sh). With a mapping per buffer, the
// peak is what is live. The mapping is populated at once (the vector fills
// every element right away, so no page stays untouched): one call instead
// of a fault per page.
//
// Under AddressSanitizer every size goes through operator new, so its
// overflow checks cover these buffers too.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace gptq {

template <typename T>
struct PageAllocator {
  using value_type = T;
  static constexpr std::size_t kMapFrom = std::size_t{1} << 20;

  PageAllocator() = default;
  template <typename U>
  PageAllocator(const PageAllocator<U> &) noexcept {}

  T *allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    const std::size_t bytes = n * sizeof(T);
    if (!mapped(bytes)) return static_cast<T *>(::operator new(bytes));
    void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return static_cast<T *>(p);
  }

  void deallocate(T *p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    if (mapped(bytes)) {
      munmap(p, bytes);
    } else {
      ::operator delete(p);
    }
  }

  template <typename U>
  bool operator==(const PageAllocator<U> &) const noexcept {
    return true;
  }

 private:
  static bool mapped(std::size_t bytes) {
#if defined(__SANITIZE_ADDRESS__)
    (void)bytes;
    return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    (void)bytes;
    return false;
#else
    return bytes >= kMapFrom;
#endif
#else
    return bytes >= kMapFrom;
#endif
  }
};

}  // namespace gptq
