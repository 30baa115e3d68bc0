#!/usr/bin/env bash
# install_test.sh BUILD_DIR WORK_DIR MCS MONO: installs the build into a
# prefix, builds examples/csharp against the installed LibGptq.dll, copies
# the assembly and its .config next to the program (as an application
# ships it) and runs it with neither MONO_PATH nor LD_LIBRARY_PATH: the
# dllmap must find the installed libgptq_csharp.so, and that libgptq.
set -euo pipefail
build=$1 work=$2 mcs=$3 mono=$4
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
rm -rf "$work"
mkdir -p "$work/app"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
asm=$(ls "$prefix"/lib*/libgptq-csharp/LibGptq.dll)
grep -q "target=\"$prefix/lib[^\"]*/libgptq_csharp.so\"" "$asm.config"
"$mcs" -nologo -r:"$asm" -out:"$work/app/Example.exe" "$root/examples/csharp/Example.cs"
cp "$asm" "$asm.config" "$work/app/"
unset MONO_PATH LD_LIBRARY_PATH
# The wrapper resolves libgptq.so.0 in the prefix, not in the build tree.
ldd "$(dirname "$(dirname "$asm")")/libgptq_csharp.so" | grep -q "libgptq.so.0 => $prefix/"
(cd / && "$mono" "$work/app/Example.exe" "$root/demo/docs-llama-tiny" "$root/demo/text/calib.txt" \
  "$work/model") | tee "$work/run.log"
grep -Eq "^To create a table in PostgreSQL, use the .+" "$work/run.log"
echo "install_test: LibGptq.dll from $prefix loaded its wrapper through the dllmap and ran"
