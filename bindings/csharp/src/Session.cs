// A session: one model and one GenerationOptions. Use it from one thread at
// a time; it keeps its model and context alive.
using System;
using LibGptq.Native;

namespace LibGptq {

public sealed class Session : IDisposable {
  readonly SessionHandle h;

  internal Session(SessionHandle s, ContextShared shared) {
    shared.Retain();
    s.Shared = shared;
    h = s;
  }

  /// <summary>Releases the session, its model and its context. Disposing twice is a no-op.</summary>
  public void Dispose() { h.Dispose(); }

  /// <summary>
  /// Sets the progress callback of the following Generate calls (stage
  /// "generate"); null removes it. Returning false cancels Generate
  /// (GptqException with Status.Cancelled); what it throws, Generate throws.
  /// </summary>
  public void SetProgress(ProgressCallback progress) {
    CallbackBox box = CallbackBox.Kept(progress);
    try {
      gptq.session_set_progress(h, CallbackBox.Pointer(box));
    } catch {
      CallbackBox.Free(box);
      throw;
    }
    CallbackBox old = h.Progress;
    h.Progress = box;
    CallbackBox.Free(old);
  }

  /// <summary>Continues prompt, streaming the text to onToken (may be null).</summary>
  public void Generate(string prompt, TokenCallback onToken = null) {
    byte[] b = Utf8.Bytes(prompt);
    CallbackBox progress = h.Progress;
    try {
      gptq.generate(h, b, b.Length, onToken);
    } finally {
      if (progress != null) progress.RethrowCaught();
    }
  }
}

}
