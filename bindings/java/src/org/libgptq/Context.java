package org.libgptq;

import org.libgptq.swig.gptq;

/**
 * A backend (CPU or CUDA), its threads and its log sink. Use a context from one thread at
 * a time; models and sessions made with it keep its resources alive, so it may be closed
 * before them.
 */
public final class Context implements AutoCloseable {
  private final NativeHandle handle;
  private final ContextResources resources = new ContextResources();

  /** A context with the default RuntimeConfig. */
  public Context() {
    this(null);
  }

  /** A context from a RuntimeConfig (null for the defaults). */
  public Context(RuntimeOptions options) {
    long h = gptq.context_create(Options.json(options));
    handle = new NativeHandle("Context", h, gptq::context_destroy, null, resources);
    NativeHandle.CLEANER.register(this, handle);
  }

  /** Releases the context; its models and sessions stay usable. Closing twice does nothing. */
  @Override
  public void close() {
    handle.run();
  }

  /** "cpu" or "cuda". */
  public String backend() {
    long h = handle.acquire();
    try {
      return gptq.context_backend(h);
    } finally {
      handle.release();
    }
  }

  /** The GPU's name, or the CPU model and thread count. */
  public String deviceName() {
    long h = handle.acquire();
    try {
      return gptq.context_device_name(h);
    } finally {
      handle.release();
    }
  }

  /** The effective RuntimeConfig, every field filled in. */
  public String runtimeJson() {
    long h = handle.acquire();
    try {
      return gptq.context_runtime_json(h);
    } finally {
      handle.release();
    }
  }

  /**
   * Sends the context's log lines to the listener (null: back to stderr), first replaying
   * those written while it was created. The listener is kept until the context and every
   * model and session made with it are closed.
   */
  public void setLog(LogListener listener) {
    long h = handle.acquire();
    try {
      long key = listener == null ? 0 : gptq.log_callback_new(new LogBridge(listener));
      try {
        gptq.context_set_log(h, key);
      } catch (RuntimeException | Error e) {
        gptq.callback_free(key);
        throw e;
      }
      resources.replaceLogKey(key);
    } finally {
      handle.release();
    }
  }

  /** What the JNI trampoline calls: the level as gptq.h's int. */
  private static final class LogBridge {
    private final LogListener listener;

    LogBridge(LogListener listener) {
      this.listener = listener;
    }

    @SuppressWarnings("unused") // called from C (java_runtime.c.in)
    void onLog(int level, String message) {
      listener.onLog(LogLevel.of(level), message);
    }
  }

  /** Opens a Hugging Face model directory (float or GPTQ): config, tokenizer, weights. */
  public Model openModel(String dir) {
    long h = handle.acquire();
    try {
      long m = gptq.model_open(h, dir);
      resources.retain();
      return new Model(m, resources);
    } finally {
      handle.release();
    }
  }

  /**
   * Quantizes the float model in modelDir with GPTQ and writes a Hugging Face GPTQ
   * checkpoint to outDir, complete or not at all. Returns the QuantizeReport JSON.
   *
   * @param progress may be null; returning false cancels (nothing is written)
   */
  public String quantizeModel(String modelDir, String outDir, QuantizeOptions options, ProgressListener progress) {
    long h = handle.acquire();
    try {
      return gptq.quantize_model(h, modelDir, Options.json(options), outDir, progress);
    } finally {
      handle.release();
    }
  }

  /** GPTQ on one weight matrix (experimental in gptq.h). */
  public MatrixResult quantizeMatrix(MatrixInput input, QuantizeOptions options) {
    input.check();
    long h = handle.acquire();
    try {
      return new MatrixResult(
          gptq.quantize_matrix(
              h, input.weights(), input.rows(), input.cols(), input.hessian(), input.activations(), input.n(),
              Options.json(options)));
    } finally {
      handle.release();
    }
  }

  /** Round-to-nearest on the same grid (no Hessian; the input's hessian/activations are unused). */
  public MatrixResult rtnMatrix(MatrixInput input, QuantizeOptions options) {
    input.check();
    long h = handle.acquire();
    try {
      return new MatrixResult(gptq.rtn_matrix(h, input.weights(), input.rows(), input.cols(), Options.json(options)));
    } finally {
      handle.release();
    }
  }

  /**
   * The model's perplexity on text (gptq_evaluate).
   *
   * @param options null for the defaults
   * @param progress may be null (stage "perplexity", windows done and total)
   */
  public EvalReport evaluate(Model model, String text, EvalOptions options, ProgressListener progress) {
    long h = handle.acquire();
    try {
      long m = model.handle.acquire();
      try {
        return EvalReport.parse(gptq.evaluate(h, m, text, Options.json(options), progress));
      } finally {
        model.handle.release();
      }
    } finally {
      handle.release();
    }
  }

  /** A session generating with the model (opened with this context). */
  public Session newSession(Model model, GenerationOptions options) {
    long h = handle.acquire();
    try {
      long m = model.handle.acquire();
      try {
        long s = gptq.session_create(h, m, Options.json(options));
        resources.retain();
        return new Session(s, resources);
      } finally {
        model.handle.release();
      }
    } finally {
      handle.release();
    }
  }
}
