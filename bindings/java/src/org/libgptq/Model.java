package org.libgptq;

import org.libgptq.swig.gptq;

/**
 * An opened Hugging Face model directory (float or GPTQ). Read-only: usable from several
 * threads at once. It keeps its context alive; its sessions keep it alive.
 */
public final class Model implements AutoCloseable {
  final NativeHandle handle;

  Model(long ptr, ContextResources resources) {
    handle = new NativeHandle("Model", ptr, gptq::model_destroy, null, resources);
    NativeHandle.CLEANER.register(this, handle);
  }

  /** Releases the model (its sessions keep it); its tokenizer is unusable afterwards. */
  @Override
  public void close() {
    handle.run();
  }

  /** The ModelInfo of schema/gptq.fbs as JSON. */
  public String infoJson() {
    long h = handle.acquire();
    try {
      return gptq.model_info_json(h);
    } finally {
      handle.release();
    }
  }

  /**
   * The model's tokenizer, usable while the model is open (each call gives a new view of
   * it; closing one does not close the others or the model).
   */
  public Tokenizer tokenizer() {
    long h = handle.acquire();
    try {
      return new Tokenizer(new NativeHandle("Tokenizer", gptq.model_tokenizer(h), null, handle, null));
    } finally {
      handle.release();
    }
  }
}
