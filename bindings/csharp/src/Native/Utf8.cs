// UTF-8 between C# strings and the C API's bytes. Mono's own string
// marshalling is not used for what the library lends: its strings are
// borrowed (never freed by the caller) and lengths are in bytes.
using System;
using System.Text;

namespace LibGptq.Native {

internal static class Utf8 {
  static readonly UTF8Encoding Encoding = new UTF8Encoding(false, false);

  internal static byte[] Bytes(string s) { return Encoding.GetBytes(s ?? ""); }

  // A copy of the NUL-terminated UTF-8 text at p; null for a NULL pointer.
  internal static unsafe string FromNative(IntPtr p) {
    if (p == IntPtr.Zero) return null;
    byte* b = (byte*)p;
    int n = 0;
    while (b[n] != 0) n++;
    return n == 0 ? "" : new string((sbyte*)b, 0, n, Encoding);
  }

  internal static string FromBytes(byte[] b, int count) { return Encoding.GetString(b, 0, count); }
}

}
