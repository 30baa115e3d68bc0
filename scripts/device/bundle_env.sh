# Sourced on the GPU machine, from the repo root: unpacks a bundle
# (scripts/device/bundle.sh; DIR.tar.xz carried), and the
# carried deps tree (OpenBLAS, flatbuffers) into /opt/deps, then exports what
# the bundle's binaries need: LD_LIBRARY_PATH, GPTQ_CUDA_PLUGIN, and
# BUNDLE (DIR's absolute path).
#   source scripts/device/bundle_env.sh DIR
bundle=${1:?usage: source bundle_env.sh DIR}
# A warm machine keeps the last call's ignored folders: unpack afresh.
if [ -f "$bundle.tar.xz" ]; then rm -rf "$bundle" && tar xJf "$bundle.tar.xz" -C "$(dirname "$bundle")" || return 1; fi
[ -d "$bundle" ] || { echo "bundle_env.sh: no $bundle nor $bundle.tar.xz" >&2; return 1; }
BUNDLE=$(realpath "$bundle")
deps=/opt/deps multi=/opt/deps/usr/lib/x86_64-linux-gnu
if [ ! -d $deps/usr ]; then
  mkdir -p $deps && tar xJf .carry/deps/deps-tree.tar.xz -C $deps || return 1
  for l in libblas.so.3 liblapack.so.3 libopenblas.so.0; do ln -sf openblas-pthread/$l $multi/$l; done
fi
export BUNDLE
export LD_LIBRARY_PATH=$BUNDLE/lib:$multi:$multi/openblas-pthread:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export GPTQ_CUDA_PLUGIN=$BUNDLE/lib/libgptq-cuda.so
