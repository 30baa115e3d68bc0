#!/usr/bin/env bash
# Checks that gptq.i also generates Java and C# modules that compile (javac,
# gcc against JNI, mcs) and that a failing call raises the language's error
# with the library's status and message. Not yet in CI: the JDK and Mono are
# not in scripts/install-deps.sh until the Java and C# layers exist.
#   bindings/swig/check_java_csharp.sh BUILD_LIB_DIR   (e.g. build/default/lib)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lib="$(cd "${1:?usage: $0 BUILD_LIB_DIR}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
inc=(-I"$root/capi/include" -I"$here")
cc=(gcc -Wall -Wextra -Werror -fPIC -shared -I"$root/capi/include" -L"$lib" -Wl,-rpath,"$lib")

# Java
jhome="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
mkdir -p "$work/java/src" "$work/java/classes"
swig -java -package org.libgptq.swig "${inc[@]}" -outdir "$work/java/src" \
  -o "$work/java/gptq_wrap.c" "$here/gptq.i"
javac -Werror -d "$work/java/classes" "$work"/java/src/*.java
"${cc[@]}" -I"$jhome/include" -I"$jhome/include/linux" "$work/java/gptq_wrap.c" \
  -o "$work/java/libgptq_java.so" -lgptq
cat > "$work/java/Check.java" <<'JAVA'
import org.libgptq.swig.gptq;
public class Check {
  public static void main(String[] a) {
    System.loadLibrary("gptq_java");
    try {
      gptq.tokenizer_open("/nonexistent", null);
      throw new AssertionError("no exception");
    } catch (gptq.GptqException e) {
      if (e.status != 1 || !e.getMessage().contains("out")) throw new AssertionError(e.getMessage());
      System.out.println("java: " + gptq.version() + ", raised status " + e.status + ": " + e.getMessage());
    }
  }
}
JAVA
javac -cp "$work/java/classes" -d "$work/java" "$work/java/Check.java"
java -Djava.library.path="$work/java" -cp "$work/java/classes:$work/java" Check

# C#
mkdir -p "$work/cs"
swig -csharp -namespace LibGptq.Swig -dllimport gptq_csharp "${inc[@]}" -outdir "$work/cs" \
  -o "$work/cs/gptq_wrap.c" "$here/gptq.i"
mcs -warnaserror -target:library -out:"$work/cs/LibGptqSwig.dll" "$work"/cs/*.cs
"${cc[@]}" "$work/cs/gptq_wrap.c" -o "$work/cs/libgptq_csharp.so" -lgptq
cat > "$work/cs/Check.cs" <<'CS'
using System;
using LibGptq.Swig;
class Check {
  static void Main() {
    try {
      gptq.tokenizer_open("/nonexistent", null);
      throw new Exception("no exception");
    } catch (ApplicationException e) {
      if (!e.Message.StartsWith("INVALID_ARGUMENT: ")) throw;
      Console.WriteLine("csharp: " + gptq.version() + ", raised " + e.Message);
    }
  }
}
CS
mcs -r:"$work/cs/LibGptqSwig.dll" -out:"$work/cs/Check.exe" "$work/cs/Check.cs"
LD_LIBRARY_PATH="$work/cs" MONO_PATH="$work/cs" mono "$work/cs/Check.exe"
