package org.libgptq;

import org.libgptq.swig.gptq;

/**
 * Generates text with one model and one GenerationConfig. Use it from one thread at a
 * time; it keeps its model and context alive.
 */
public final class Session implements AutoCloseable {
  private final NativeHandle handle;

  Session(long ptr, ContextResources resources) {
    handle = new NativeHandle("Session", ptr, gptq::session_destroy, null, resources);
    NativeHandle.CLEANER.register(this, handle);
  }

  /** Releases the session, its model and its context. Closing twice does nothing. */
  @Override
  public void close() {
    handle.run();
  }

  /**
   * Sets the progress listener of the following generate calls (stage "generate"); null
   * removes it. Returning false cancels generate (a GptqException with status CANCELLED).
   */
  public void setProgress(ProgressListener listener) {
    long h = handle.acquire();
    try {
      long key = listener == null ? 0 : gptq.progress_callback_new(listener);
      try {
        gptq.session_set_progress(h, key);
      } catch (RuntimeException | Error e) {
        gptq.callback_free(key);
        throw e;
      }
      gptq.callback_free(handle.swapCallbackKey(key)); // no longer called
    } finally {
      handle.release();
    }
  }

  /** Continues prompt, streaming the text to the listener (may be null). */
  public void generate(String prompt, TokenListener listener) {
    java.util.Objects.requireNonNull(prompt, "prompt");
    long h = handle.acquire();
    try {
      gptq.generate(h, prompt, listener);
    } finally {
      handle.release();
    }
  }

  /** Continues prompt and returns the generated text. */
  public String generate(String prompt) {
    StringBuilder text = new StringBuilder();
    generate(
        prompt,
        (piece, id) -> {
          text.append(piece);
          return true;
        });
    return text.toString();
  }
}
