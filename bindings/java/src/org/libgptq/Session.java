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

  /**
   * Continues every prompt, decoded together as one batch, each as {@link #generate} would
   * alone (sampler seeded from the options, stop strings, EOS, maxNewTokens), streaming the
   * text to the listener (may be null) with the index of its prompt. The progress listener
   * cancels them all. An empty list is a GptqException (INVALID_ARGUMENT).
   */
  public void generateBatch(java.util.List<String> prompts, BatchTokenListener listener) {
    String[] all = prompts.toArray(new String[0]);
    for (int i = 0; i < all.length; i++) java.util.Objects.requireNonNull(all[i], "prompt " + i);
    long h = handle.acquire();
    try {
      gptq.generate_batch(h, all, listener);
    } finally {
      handle.release();
    }
  }

  /** Continues every prompt as one batch and returns their generated texts, in order. */
  public java.util.List<String> generateBatch(java.util.List<String> prompts) {
    StringBuilder[] texts = new StringBuilder[prompts.size()];
    for (int i = 0; i < texts.length; i++) texts[i] = new StringBuilder();
    generateBatch(
        prompts,
        (sequence, piece, id) -> {
          texts[sequence].append(piece);
          return true;
        });
    java.util.List<String> out = new java.util.ArrayList<>(texts.length);
    for (StringBuilder t : texts) out.add(t.toString());
    return out;
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
