// gptq.h called straight from C# (DllImport of libgptq, no SWIG), so that
// the tests compare what the binding gives with what the C API gives in
// the same process; and glibc's count of the C heap in use.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace LibGptq.Tests {

static class CApi {
  [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
  delegate int TokenFn(IntPtr user, IntPtr piece, int id);

  [DllImport("gptq")] static extern int gptq_context_create(byte[] json, out IntPtr ctx);
  [DllImport("gptq")] static extern void gptq_context_destroy(IntPtr ctx);
  [DllImport("gptq")] static extern int gptq_model_open(IntPtr ctx, byte[] dir, out IntPtr model);
  [DllImport("gptq")] static extern void gptq_model_destroy(IntPtr model);
  [DllImport("gptq")] static extern int gptq_session_create(IntPtr ctx, IntPtr model, byte[] json, out IntPtr s);
  [DllImport("gptq")] static extern void gptq_session_destroy(IntPtr s);
  [DllImport("gptq")] static extern int gptq_generate(IntPtr s, byte[] prompt, UIntPtr len, TokenFn fn, IntPtr user);

  static byte[] Z(string s) { return Encoding.UTF8.GetBytes(s + "\0"); }

  // The ids gptq_generate streams for prompt, greedy, maxNew new tokens, on
  // a CPU context.
  internal static int[] GreedyIds(string dir, string prompt, int maxNew) {
    IntPtr ctx = IntPtr.Zero, model = IntPtr.Zero, session = IntPtr.Zero;
    var ids = new List<int>();
    TokenFn fn = (user, piece, id) => { ids.Add(id); return 0; };
    try {
      byte[] p = Encoding.UTF8.GetBytes(prompt);
      if (gptq_context_create(Z("{\"backend\": \"cpu\"}"), out ctx) != 0 ||
          gptq_model_open(ctx, Z(dir), out model) != 0 ||
          gptq_session_create(ctx, model, Z("{\"temperature\": 0, \"max_new_tokens\": " + maxNew + "}"),
                              out session) != 0 ||
          gptq_generate(session, p, (UIntPtr)p.Length, fn, IntPtr.Zero) != 0)
        throw new Exception("the C API's generation failed");
    } finally {
      gptq_session_destroy(session);
      gptq_model_destroy(model);
      gptq_context_destroy(ctx);
      GC.KeepAlive(fn);
    }
    return ids.ToArray();
  }

  [StructLayout(LayoutKind.Sequential)]
  struct MallInfo2 {
    public UIntPtr arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
  }
  [DllImport("libc.so.6")] static extern MallInfo2 mallinfo2();

  // The bytes glibc's malloc has handed out and not got back (the C heap of
  // libgptq, the wrapper and Mono's runtime together).
  internal static long MallocInUse() {
    MallInfo2 m = mallinfo2();
    return (long)m.uordblks.ToUInt64() + (long)m.hblkhd.ToUInt64();
  }
}

}
