// The C API's handles as SafeHandles. P/Invoke holds a reference on a
// SafeHandle for the length of every call it is passed to, so a Dispose on
// another thread (or a finalizer) frees the C handle only once the calls
// using it have returned; `T **out` is filled into a fresh SafeHandle
// atomically. ReleaseHandle calls the destroy function of gptq.h (destroys
// may come in any order: each C handle keeps what it needs alive).
using System;
using System.Runtime.InteropServices;

namespace LibGptq.Native {

internal abstract class GptqHandle : SafeHandle {
  protected GptqHandle() : base(IntPtr.Zero, true) {}
  protected GptqHandle(IntPtr h, bool owns) : base(IntPtr.Zero, owns) { SetHandle(h); }
  public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
}

// What lives as long as the C context's resources: until the context and
// every model and session made with it are released. The log sink's box
// must stay allocated that long (gptq.h, gptq_context_set_log).
internal sealed class ContextShared {
  readonly object mu = new object();
  int refs = 1;
  CallbackBox log;

  internal void Retain() { lock (mu) refs++; }

  // After a handle's destroy: the last one frees the log sink, which the
  // library no longer calls.
  internal void Release() {
    CallbackBox old = null;
    lock (mu) {
      if (--refs == 0) { old = log; log = null; }
    }
    CallbackBox.Free(old);
  }

  // After a successful gptq_context_set_log: the old sink is no longer called.
  internal void ReplaceLog(CallbackBox box) {
    CallbackBox old;
    lock (mu) { old = log; log = box; }
    CallbackBox.Free(old);
  }
}

internal sealed class ContextHandle : GptqHandle {
  internal ContextShared Shared; // set right after gptq_context_create
  protected override bool ReleaseHandle() {
    gptq.context_destroy(handle);
    if (Shared != null) Shared.Release();
    return true;
  }
}

internal sealed class ModelHandle : GptqHandle {
  internal ContextShared Shared; // retained right after gptq_model_open
  protected override bool ReleaseHandle() {
    gptq.model_destroy(handle);
    if (Shared != null) Shared.Release();
    return true;
  }
}

internal sealed class SessionHandle : GptqHandle {
  internal ContextShared Shared;  // retained right after gptq_session_create
  internal CallbackBox Progress;  // the session's progress sink, if any
  protected override bool ReleaseHandle() {
    gptq.session_destroy(handle);
    CallbackBox.Free(Progress);
    Progress = null;
    if (Shared != null) Shared.Release();
    return true;
  }
}

internal sealed class TokenizerHandle : GptqHandle {
  public TokenizerHandle() {}
  // A model's tokenizer: lent, never destroyed (its model frees it).
  internal static TokenizerHandle Lent(IntPtr h) { return new TokenizerHandle(h); }
  TokenizerHandle(IntPtr h) : base(h, false) {}
  protected override bool ReleaseHandle() {
    gptq.tokenizer_destroy(handle);
    return true;
  }
}

internal sealed class MatrixResultHandle : GptqHandle {
  protected override bool ReleaseHandle() {
    gptq.matrix_result_destroy(handle);
    return true;
  }
}

}
