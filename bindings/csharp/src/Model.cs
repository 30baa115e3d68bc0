// An opened model directory and tokenizers.
using System;
using LibGptq.Native;

namespace LibGptq {

/// <summary>
/// An opened Hugging Face model directory (float or GPTQ). Usable from
/// several threads at once; it keeps its context alive.
/// </summary>
public sealed class Model : IDisposable {
  readonly ModelHandle h;
  Tokenizer tokenizer;

  internal Model(ModelHandle m, ContextShared shared) {
    shared.Retain();
    m.Shared = shared;
    h = m;
  }

  internal ModelHandle Handle { get { return h; } }

  /// <summary>Releases the model (its sessions keep it alive); its Tokenizer is unusable afterwards.</summary>
  public void Dispose() { h.Dispose(); }

  /// <summary>The ModelInfo of schema/gptq.fbs as JSON.</summary>
  public string InfoJson { get { string s; gptq.model_info_json(h, out s); return s; } }

  /// <summary>The model's tokenizer, usable while the model is open.</summary>
  public Tokenizer Tokenizer {
    get {
      if (tokenizer == null) {
        IntPtr t;
        gptq.model_tokenizer(h, out t);
        tokenizer = new Tokenizer(TokenizerHandle.Lent(t), h);
      }
      return tokenizer;
    }
  }
}

[Flags]
public enum TokenizeFlags : uint {
  None = 0,
  /// <summary>Do not add BOS and the like.</summary>
  NoSpecial = gptq.GPTQ_TOKENIZE_NO_SPECIAL,
}

[Flags]
public enum DetokenizeFlags : uint {
  None = 0,
  /// <summary>Leave special tokens out of the text.</summary>
  SkipSpecial = gptq.GPTQ_DETOKENIZE_SKIP_SPECIAL,
}

/// <summary>A Hugging Face tokenizer; immutable, usable from several threads at once.</summary>
public sealed class Tokenizer : IDisposable {
  readonly TokenizerHandle h;
  readonly ModelHandle owner;  // the model that lends it; null for Open's

  internal Tokenizer(TokenizerHandle t, ModelHandle owner) {
    h = t;
    this.owner = owner;
  }

  /// <summary>Opens a tokenizer.json, or a directory holding one, without a model.</summary>
  public static Tokenizer Open(string path) {
    TokenizerHandle t;
    gptq.tokenizer_open(path, out t);
    return new Tokenizer(t, null);
  }

  /// <summary>Frees a tokenizer from Open; a model's goes with its model.</summary>
  public void Dispose() { h.Dispose(); }

  // Holds the lending model open for the call (ObjectDisposedException once
  // the model is disposed).
  bool Borrow() {
    bool added = false;
    if (owner != null) owner.DangerousAddRef(ref added);
    return added;
  }
  void Return(bool added) {
    if (added) owner.DangerousRelease();
  }

  /// <summary>The ids Hugging Face's tokenizer(text) gives (flags None).</summary>
  public int[] Tokenize(string text, TokenizeFlags flags = TokenizeFlags.None) {
    return Tokenize(Utf8.Bytes(text), flags);
  }

  /// <summary>Tokenizes UTF-8 bytes (invalid sequences become U+FFFD).</summary>
  public int[] Tokenize(byte[] utf8, TokenizeFlags flags = TokenizeFlags.None) {
    // One id per byte plus specials is enough but for repaired bytes; the
    // retry covers those.
    int[] ids = new int[utf8.Length + 8];
    long n = 0;
    bool added = Borrow();
    try {
      try {
        gptq.tokenize(h, utf8, utf8.Length, (uint)flags, ids, ids.Length, out n);
      } catch (GptqException e) when (e.Status == Status.BufferTooSmall) {
        ids = new int[n];
        gptq.tokenize(h, utf8, utf8.Length, (uint)flags, ids, ids.Length, out n);
      }
    } finally {
      Return(added);
    }
    if (n != ids.Length) Array.Resize(ref ids, (int)n);
    return ids;
  }

  /// <summary>The text Hugging Face's decode(ids) gives (flags None).</summary>
  public string Detokenize(int[] ids, DetokenizeFlags flags = DetokenizeFlags.None) {
    byte[] buf = new byte[ids.Length * 8 + 16];
    long len = 0;
    bool added = Borrow();
    try {
      try {
        gptq.detokenize(h, ids, ids.Length, (uint)flags, buf, buf.Length, out len);
      } catch (GptqException e) when (e.Status == Status.BufferTooSmall) {
        buf = new byte[len + 1];
        gptq.detokenize(h, ids, ids.Length, (uint)flags, buf, buf.Length, out len);
      }
    } finally {
      Return(added);
    }
    return Utf8.FromBytes(buf, (int)len);
  }
}

}
