// Shared ownership of the C handles. A binding's finalizers (Java's Cleaner,
// .NET, Go) destroy handles in any order, so a context stays alive while a
// model or session made with it does, and a model while a session of it does:
// each holds a reference to what it was made from. gptq_*_destroy releases the
// caller's reference; the object goes with its last one. A call in progress
// holds references too, so a handle destroyed from inside one of its own
// callbacks goes when that call returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace gptq::capi {

// The count lives in the handle (intrusive), so a raw handle pointer crossing
// the ABI can always be turned back into a reference.
class RefCounted {
 public:
  RefCounted() = default;
  RefCounted(const RefCounted &) = delete;
  RefCounted &operator=(const RefCounted &) = delete;

  void retain() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  // True when this was the last reference: the caller then deletes.
  bool release() const noexcept { return refs_.fetch_sub(1, std::memory_order_acq_rel) == 1; }

 private:
  mutable std::atomic<std::uint32_t> refs_{1};  // the creator's
};

// Drops one reference to `p` (NULL: nothing), deleting it with the last one.
template <class T>
void release(T *p) noexcept {
  if (p && p->release()) delete p;
}

// A counted reference held by C++ code: by a model to its context, by a
// session to its model and context, by a running call to its handles.
template <class T>
class Ref {
 public:
  Ref() = default;
  explicit Ref(T *p) noexcept : p_(p) {
    if (p_) p_->retain();
  }
  Ref(const Ref &o) noexcept : Ref(o.p_) {}
  Ref(Ref &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Ref &operator=(Ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~Ref() { release(p_); }

  T *get() const noexcept { return p_; }
  T *operator->() const noexcept { return p_; }
  T &operator*() const noexcept { return *p_; }

 private:
  T *p_ = nullptr;
};

}  // namespace gptq::capi
