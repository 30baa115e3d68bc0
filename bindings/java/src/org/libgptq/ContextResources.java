package org.libgptq;

import org.libgptq.swig.gptq;

/**
 * What lives as long as a context's native resources: until the context and every model
 * and session made with it are destroyed (gptq.h, gptq_context_destroy). The log sink's
 * callback must stay registered that long, so it is freed with the last of them.
 */
final class ContextResources {
  private int refs = 1; // the context itself
  private long logKey;

  synchronized void retain() {
    refs++;
  }

  void release() {
    long key = 0;
    synchronized (this) {
      if (--refs == 0) {
        key = logKey;
        logKey = 0;
      }
    }
    gptq.callback_free(key);
  }

  /** Keeps the new log sink's key and frees the one it replaces. */
  void replaceLogKey(long key) {
    long old;
    synchronized (this) {
      old = logKey;
      logKey = key;
    }
    gptq.callback_free(old);
  }
}
