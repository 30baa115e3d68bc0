#!/usr/bin/env bash
# install_test.sh BUILD_DIR WORK_DIR CMAKE JAVA EXAMPLE_CLASSES: installs the build into
# a temporary prefix and runs examples/java from it as a user would, with nothing of the
# build tree on its paths: -Djava.library.path=<prefix>/lib and <prefix>/share/java/gptq.jar
# (libgptq_java.so finds libgptq.so beside it through its RPATH $ORIGIN).
set -euo pipefail
build=$1 work=$2 cmake=$3 java=$4 classes=$5
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
libdir=$(dirname "$(ls "$prefix"/lib*/libgptq_java.so)")
test -f "$prefix/share/java/gptq.jar"
# The example's classes, copied out of the build tree.
cp -r "$classes" "$work/classes"
"$java" -Djava.library.path="$libdir" -cp "$prefix/share/java/gptq.jar:$work/classes" QuantizeGenerate \
  "$root/demo/docs-llama-tiny" "$root/demo/text/calib.txt" "$work/out" "To create a table" | tee "$work/run.log"
grep -q "^wrote $work/out" "$work/run.log"
# And with the library named by the system property instead.
"$java" -Dorg.libgptq.library="$libdir/libgptq_java.so" -cp "$prefix/share/java/gptq.jar:$work/classes" \
  QuantizeGenerate "$root/demo/docs-llama-tiny" "$root/demo/text/calib.txt" "$work/out" "To create a table" |
  grep -q "^loading the GPTQ checkpoint in $work/out"
echo "install_test: examples/java ran from the installed prefix"
