// A context: a backend, its threads and its log sink. Use it from one
// thread at a time; the models and sessions made with it keep it alive.
using System;
using LibGptq.Native;

namespace LibGptq {

public sealed class Context : IDisposable {
  readonly ContextHandle h;

  /// <summary>Creates a context; options is a RuntimeOptions, a RawConfig or null for the defaults.</summary>
  public Context(IConfig options = null) {
    ContextHandle ch;
    gptq.context_create(Config.Json(options), out ch);
    ch.Shared = new ContextShared();
    h = ch;
  }

  /// <summary>The library's "MAJOR.MINOR.PATCH".</summary>
  public static string Version { get { return gptq.version(); } }

  internal ContextHandle Handle { get { return h; } }

  /// <summary>
  /// Releases the context. Its models and sessions stay usable; the
  /// resources go with the last of them. Disposing twice is a no-op.
  /// </summary>
  public void Dispose() { h.Dispose(); }

  /// <summary>"cpu" or "cuda".</summary>
  public string Backend { get { string s; gptq.context_backend(h, out s); return s; } }

  /// <summary>The GPU's name, or the CPU's and its thread count.</summary>
  public string DeviceName { get { string s; gptq.context_device_name(h, out s); return s; } }

  /// <summary>The effective RuntimeConfig, every field filled in.</summary>
  public string RuntimeJson { get { string s; gptq.context_runtime_json(h, out s); return s; } }

  /// <summary>
  /// Sends the context's log lines to sink (null: back to stderr), first
  /// replaying those written while it was created. The sink runs on the
  /// thread of the call that logs; what it throws is dropped (logging
  /// cannot stop the work). It is kept until the context and all its
  /// models and sessions are released.
  /// </summary>
  public void SetLog(Action<LogLevel, string> sink) {
    CallbackBox box = CallbackBox.Kept(sink);
    try {
      gptq.context_set_log(h, CallbackBox.Pointer(box));
    } catch {
      CallbackBox.Free(box);
      throw;
    }
    h.Shared.ReplaceLog(box);
  }

  /// <summary>Opens the model in dir (config.json, tokenizer, safetensors).</summary>
  public Model OpenModel(string dir) {
    ModelHandle m;
    gptq.model_open(h, dir, out m);
    return new Model(m, h.Shared);
  }

  /// <summary>A session generating with model; options is a GenerationOptions, a RawConfig or null.</summary>
  public Session CreateSession(Model model, IConfig options = null) {
    SessionHandle s;
    gptq.session_create(h, model.Handle, Config.Json(options), out s);
    return new Session(s, h.Shared);
  }

  /// <summary>
  /// Quantizes the float model in modelDir with GPTQ and writes a Hugging
  /// Face GPTQ checkpoint to outDir (complete or not at all); returns the
  /// QuantizeReport JSON. options is a QuantizeOptions or a RawConfig.
  /// </summary>
  public string QuantizeModel(string modelDir, string outDir, IConfig options, ProgressCallback progress = null) {
    string report;
    gptq.quantize_model(h, modelDir, Config.Json(options), outDir, progress, out report);
    return report;
  }

  /// <summary>The model's perplexity on text (gptq_evaluate).</summary>
  public EvalReport Evaluate(Model model, string text, IConfig options = null, ProgressCallback progress = null) {
    byte[] b = Utf8.Bytes(text);
    string report;
    gptq.evaluate(h, model.Handle, b, b.Length, Config.Json(options), progress, out report);
    return new EvalReport(report);
  }

  /// <summary>GPTQ on one matrix (experimental in gptq.h).</summary>
  public MatrixResult QuantizeMatrix(MatrixInput input, IConfig options = null) {
    input.Check();
    MatrixResultHandle r;
    gptq.quantize_matrix(h, input.Weights, input.Rows, input.Cols, input.Hessian, input.Activations, input.N,
                         Config.Json(options), out r);
    return new MatrixResult(r);
  }

  /// <summary>Round-to-nearest of one matrix on the same grid (no Hessian).</summary>
  public MatrixResult RtnMatrix(MatrixInput input, IConfig options = null) {
    input.Check();
    MatrixResultHandle r;
    gptq.rtn_matrix(h, input.Weights, input.Rows, input.Cols, Config.Json(options), out r);
    return new MatrixResult(r);
  }
}

}
