#!/usr/bin/env bash
# Checks by hand that gptq.i generates a C# module that compiles (gcc, mcs)
# and that a failing call raises the language's error with the library's
# status and message. (Java: CMake builds and tests it, bindings/java.)
#   bindings/swig/check_java_csharp.sh BUILD_LIB_DIR   (e.g. build/default/lib)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lib="$(cd "${1:?usage: $0 BUILD_LIB_DIR}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
inc=(-I"$root/capi/include" -I"$here")
cc=(gcc -Wall -Wextra -Werror -fPIC -shared -I"$root/capi/include" -L"$lib" -Wl,-rpath,"$lib")

# Java: no longer here. CMake generates, builds and tests it (bindings/java:
# gptq.jar, libgptq_java.so, ctest's bindings_java_test).

# C# (built and tested by CMake in bindings/csharp; this is the same build
# by hand): the module compiles only with the LibGptq assembly's sources.
mkdir -p "$work/cs/gen"
swig -csharp -namespace LibGptq.Native -dllimport gptq_csharp "${inc[@]}" -outdir "$work/cs/gen" \
  -o "$work/cs/gptq_wrap.c" "$here/gptq.i"
mcs -warnaserror -unsafe -target:library -r:System.Json.dll -r:System.Core.dll \
  -out:"$work/cs/LibGptq.dll" "$work"/cs/gen/*.cs "$root"/bindings/csharp/src/*.cs \
  "$root"/bindings/csharp/src/Native/*.cs
"${cc[@]}" "$work/cs/gptq_wrap.c" -o "$work/cs/libgptq_csharp.so" -lgptq
cat > "$work/cs/Check.cs" <<'CS'
using System;
using LibGptq;
class Check {
  static void Main() {
    try {
      Tokenizer.Open("/nonexistent");
      throw new Exception("no exception");
    } catch (GptqException e) {
      if (e.Status != Status.IO || !e.Message.Contains("/nonexistent")) throw;
      Console.WriteLine("csharp: " + Context.Version + ", raised " + e.StatusName + ": " + e.Message);
    }
  }
}
CS
mcs -r:"$work/cs/LibGptq.dll" -out:"$work/cs/Check.exe" "$work/cs/Check.cs"
MONO_PATH="$work/cs" mono "$work/cs/Check.exe"
