// The managed ends of gptq.i's C trampolines. Each callback the library
// holds is a CallbackBox pinned by a GCHandle whose pointer is the C
// `user`: per-call callbacks for the length of the call (the typemaps
// call ForCall/EndCall), a context's log sink until the context's last
// handle is released, a session's progress until the session is.
using System;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace LibGptq.Native {

internal sealed class CallbackBox {
  readonly ProgressCallback progress;
  readonly TokenCallback token;
  readonly BatchTokenCallback batchToken;
  readonly Action<LogLevel, string> log;
  GCHandle handle;
  // What the delegate threw: it never crosses the C frames; the call that
  // ran the callback throws it when it returns.
  internal Exception Caught;

  CallbackBox(ProgressCallback p, TokenCallback t, BatchTokenCallback bt, Action<LogLevel, string> l) {
    progress = p;
    token = t;
    batchToken = bt;
    log = l;
    handle = GCHandle.Alloc(this);
  }

  internal static CallbackBox Kept(ProgressCallback p) { return p == null ? null : new CallbackBox(p, null, null, null); }
  internal static CallbackBox Kept(Action<LogLevel, string> l) {
    return l == null ? null : new CallbackBox(null, null, null, l);
  }
  internal static CallbackBox ForCall(ProgressCallback p) { return Kept(p); }
  internal static CallbackBox ForCall(TokenCallback t) { return t == null ? null : new CallbackBox(null, t, null, null); }
  internal static CallbackBox ForCall(BatchTokenCallback t) {
    return t == null ? null : new CallbackBox(null, null, t, null);
  }

  internal static IntPtr Pointer(CallbackBox b) { return b == null ? IntPtr.Zero : GCHandle.ToIntPtr(b.handle); }

  internal static void Free(CallbackBox b) {
    if (b != null && b.handle.IsAllocated) b.handle.Free();
  }

  // After a call: frees the box and throws what its delegate threw (in
  // place of the GptqException of the cancel it caused).
  internal static void EndCall(CallbackBox b) {
    if (b == null) return;
    Free(b);
    b.RethrowCaught();
  }

  internal void RethrowCaught() {
    Exception e = Caught;
    Caught = null;
    if (e != null) ExceptionDispatchInfo.Capture(e).Throw();
  }

  static CallbackBox Of(IntPtr user) { return (CallbackBox)GCHandle.FromIntPtr(user).Target; }

  internal static int Progress(IntPtr user, IntPtr stage, ulong done, ulong total) {
    CallbackBox b = null;
    try {
      b = Of(user);
      return b.progress(Utf8.FromNative(stage), done, total) ? 0 : 1;
    } catch (Exception e) {
      if (b != null && b.Caught == null) b.Caught = e;
      return 1;
    }
  }

  internal static int Token(IntPtr user, IntPtr piece, int id) {
    CallbackBox b = null;
    try {
      b = Of(user);
      return b.token(Utf8.FromNative(piece), id) ? 0 : 1;
    } catch (Exception e) {
      if (b != null && b.Caught == null) b.Caught = e;
      return 1;
    }
  }

  // Once the delegate threw, every sequence of the batch stops at its next
  // token. The index fits an int: it counts a list of prompts.
  internal static int BatchToken(IntPtr user, ulong sequence, IntPtr piece, int id) {
    CallbackBox b = null;
    try {
      b = Of(user);
      if (b.Caught != null) return 1;
      return b.batchToken((int)sequence, Utf8.FromNative(piece), id) ? 0 : 1;
    } catch (Exception e) {
      if (b != null && b.Caught == null) b.Caught = e;
      return 1;
    }
  }

  // A log sink cannot stop anything: what it throws is dropped.
  internal static void Log(IntPtr user, int level, IntPtr msg) {
    try {
      Of(user).log((LogLevel)level, Utf8.FromNative(msg));
    } catch (Exception) {
    }
  }
}

// The function pointers registered with the wrapper (gptq.i's imclasscode).
internal static class Trampolines {
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  internal delegate void RaiseFn(int status, IntPtr message);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  internal delegate int ProgressFn(IntPtr user, IntPtr stage, ulong done, ulong total);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  internal delegate int TokenFn(IntPtr user, IntPtr piece, int id);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  internal delegate int BatchTokenFn(IntPtr user, ulong sequence, IntPtr piece, int id);
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  internal delegate void LogFn(IntPtr user, int level, IntPtr msg);

  // Called by the wrapper of a failing call, on its thread, before it
  // returns: the exception the C# method throws next.
  internal static void Raise(int status, IntPtr message) {
    try {
      gptqPINVOKE.SWIGPendingException.Set(new GptqException((Status)status, Utf8.FromNative(message)));
    } catch (Exception) {
      // Set refuses only when an earlier exception is still pending; that
      // one is thrown first.
    }
  }

  internal static int Progress(IntPtr user, IntPtr stage, ulong done, ulong total) {
    return CallbackBox.Progress(user, stage, done, total);
  }
  internal static int Token(IntPtr user, IntPtr piece, int id) { return CallbackBox.Token(user, piece, id); }
  internal static int BatchToken(IntPtr user, ulong sequence, IntPtr piece, int id) {
    return CallbackBox.BatchToken(user, sequence, piece, id);
  }
  internal static void Log(IntPtr user, int level, IntPtr msg) { CallbackBox.Log(user, level, msg); }
}

}
