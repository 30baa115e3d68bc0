package org.libgptq;

import org.libgptq.swig.gptq;

/**
 * A Hugging Face tokenizer giving the ids of Hugging Face's tokenizers. Immutable: usable
 * from several threads at once.
 */
public final class Tokenizer implements AutoCloseable {
  /** Flag of {@link #tokenize(String, int)}: do not add the special tokens (e.g. BOS). */
  public static final int NO_SPECIAL = (int) org.libgptq.swig.gptqConstants.GPTQ_TOKENIZE_NO_SPECIAL;
  /** Flag of {@link #detokenize(int[], int)}: leave the special tokens out of the text. */
  public static final int SKIP_SPECIAL = (int) org.libgptq.swig.gptqConstants.GPTQ_DETOKENIZE_SKIP_SPECIAL;

  private final NativeHandle handle;

  Tokenizer(NativeHandle handle) {
    this.handle = handle;
  }

  /** Opens a tokenizer.json, or a directory holding one, without a model. */
  public static Tokenizer open(String path) {
    Tokenizer t = new Tokenizer(new NativeHandle("Tokenizer", gptq.tokenizer_open(path), gptq::tokenizer_destroy, null, null));
    NativeHandle.CLEANER.register(t, t.handle);
    return t;
  }

  /** Frees a tokenizer from {@link #open}; a model's tokenizer goes with its model. */
  @Override
  public void close() {
    handle.run();
  }

  /** The ids Hugging Face's tokenizer(text) gives, special tokens included. */
  public int[] tokenize(String text) {
    return tokenize(text, 0);
  }

  /** The ids of text; flags 0 or {@link #NO_SPECIAL}. */
  public int[] tokenize(String text, int flags) {
    java.util.Objects.requireNonNull(text, "text");
    long h = handle.acquire();
    try {
      return gptq.tokenize(h, text, flags);
    } finally {
      handle.release();
    }
  }

  /** The text Hugging Face's decode(ids) gives, special tokens kept. */
  public String detokenize(int[] ids) {
    return detokenize(ids, 0);
  }

  /** The text of ids; flags 0 or {@link #SKIP_SPECIAL}. */
  public String detokenize(int[] ids, int flags) {
    java.util.Objects.requireNonNull(ids, "ids");
    long h = handle.acquire();
    try {
      return gptq.detokenize(h, ids, flags);
    } finally {
      handle.release();
    }
  }
}
