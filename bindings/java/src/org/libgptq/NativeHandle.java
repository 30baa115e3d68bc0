package org.libgptq;

import java.lang.ref.Cleaner;
import java.util.function.LongConsumer;
import org.libgptq.swig.gptq;

/**
 * One native handle and its lifetime, shared by the public classes.
 *
 * <p>Every call takes the handle with {@link #acquire()} and gives it back with
 * {@link #release()}; {@link #run()} (close) never blocks: it marks the handle closed and
 * the handle is destroyed when the last call that holds it returns. So closing from
 * another thread, or from a callback of a call that uses the handle (gptq.h allows every
 * destroy there), neither frees memory under a running call nor deadlocks. A Cleaner runs
 * the same close when the owner becomes unreachable without close(): this object never
 * refers to its owner, as a Cleaner's action must not.
 */
final class NativeHandle implements Runnable {
  /** The safety net of every handle class; close() is the way to release one. */
  static final Cleaner CLEANER = Cleaner.create();

  private final String what;
  private final LongConsumer destroy; // null: a borrowed handle (a model's tokenizer)
  private final NativeHandle parent; // acquired with this one (the model of its tokenizer)
  private final ContextResources resources; // released after destroy; null for none
  private long ptr;
  private int users;
  private boolean closed;
  private long callbackKey; // a kept callback freed after destroy (a session's progress)

  NativeHandle(String what, long ptr, LongConsumer destroy, NativeHandle parent, ContextResources resources) {
    this.what = what;
    this.ptr = ptr;
    this.destroy = destroy;
    this.parent = parent;
    this.resources = resources;
  }

  /** The pointer, held until {@link #release()}; throws when closed. */
  long acquire() {
    if (parent != null) parent.acquire();
    synchronized (this) {
      if (!closed) {
        users++;
        return ptr;
      }
    }
    if (parent != null) parent.release();
    throw GptqException.closed(what);
  }

  void release() {
    long p = 0;
    synchronized (this) {
      users--;
      if (closed && users == 0) {
        p = ptr;
        ptr = 0;
      }
    }
    if (p != 0) destroy(p);
    if (parent != null) parent.release();
  }

  /** Close: destroys now, or when the last call holding the handle returns. */
  @Override
  public void run() {
    long p;
    synchronized (this) {
      if (closed) return;
      closed = true;
      if (users > 0) return;
      p = ptr;
      ptr = 0;
    }
    if (p != 0) destroy(p);
  }

  /** Replaces the kept callback freed with the handle; returns the one it had. */
  synchronized long swapCallbackKey(long key) {
    long old = callbackKey;
    callbackKey = key;
    return old;
  }

  private void destroy(long p) {
    if (destroy != null) destroy.accept(p);
    long key;
    synchronized (this) {
      key = callbackKey;
      callbackKey = 0;
    }
    gptq.callback_free(key); // the library no longer calls it
    if (resources != null) resources.release();
  }
}
