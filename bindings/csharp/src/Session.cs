// A session: one model and one GenerationOptions. Use it from one thread at
// a time; it keeps its model and context alive.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
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

  /// <summary>
  /// Continues every prompt, decoded together as one batch, each as Generate
  /// would alone (sampler seeded from the options, stop strings, EOS,
  /// MaxNewTokens), streaming the text to onToken (may be null) with the
  /// index of its prompt. The progress callback cancels them all. An empty
  /// list is a GptqException (Status.InvalidArgument).
  /// </summary>
  public void GenerateBatch(IList<string> prompts, BatchTokenCallback onToken) {
    if (prompts == null) throw new ArgumentNullException("prompts");
    // One array holds every prompt's UTF-8; each pointer points into it.
    var lens = new long[prompts.Count];
    var bytes = new byte[prompts.Count][];
    long total = 0;
    for (int i = 0; i < bytes.Length; i++) {
      if (prompts[i] == null) throw new ArgumentNullException("prompts", "prompt " + i + " is null");
      bytes[i] = Utf8.Bytes(prompts[i]);
      lens[i] = bytes[i].Length;
      total += lens[i];
    }
    var all = new byte[total];
    long at = 0;
    foreach (byte[] b in bytes) {
      Buffer.BlockCopy(b, 0, all, (int)at, b.Length);
      at += b.Length;
    }
    CallbackBox progress = h.Progress;
    GCHandle pinned = GCHandle.Alloc(all, GCHandleType.Pinned);
    try {
      IntPtr start = pinned.AddrOfPinnedObject();
      var pointers = new IntPtr[lens.Length];
      at = 0;
      for (int i = 0; i < lens.Length; i++) {
        pointers[i] = new IntPtr(start.ToInt64() + at);
        at += lens[i];
      }
      gptq.generate_batch(h, pointers, lens, lens.Length, onToken);
    } finally {
      pinned.Free();
      if (progress != null) progress.RethrowCaught();
    }
  }

  /// <summary>Continues every prompt as one batch and returns their generated texts, in order.</summary>
  public string[] GenerateBatch(IList<string> prompts) {
    if (prompts == null) throw new ArgumentNullException("prompts");
    var texts = new StringBuilder[prompts.Count];
    for (int i = 0; i < texts.Length; i++) texts[i] = new StringBuilder();
    GenerateBatch(prompts, (sequence, piece, id) => {
      texts[sequence].Append(piece);
      return true;
    });
    return Array.ConvertAll(texts, t => t.ToString());
  }
}

}
