#!/usr/bin/env bash
# Builds llama.cpp's llama-perplexity, llama-bench and llama-tokenize from the source vendored in
# PyPI's llama-cpp-python sdist, so the comparison in compare.sh is repeatable without a git clone
# of llama.cpp (the project's machines reach only Debian and PyPI).
#
#   Benchmarks/llama_cpp/build.sh [WORKDIR]      (default WORKDIR: $LLAMACPP_DIR or /work/llamacpp)
#
# WORKDIR ends up holding the sdist, its unpacked tree, a venv with cmake and ninja from PyPI, and
# build/bin/{llama-perplexity,llama-bench,llama-tokenize}. It lives outside the repository on
# purpose: nothing here is committed. The build is CPU-only, Release, without libcurl, and runs
# under `nice -n 19` because the machines it runs on are shared.
set -euo pipefail

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
WORKDIR="${1:-${LLAMACPP_DIR:-/work/llamacpp}}"
JOBS="${JOBS:-2}"
mkdir -p "$WORKDIR"
cd "$WORKDIR"

SDIST="llama_cpp_python-$VERSION.tar.gz"
if [ ! -f "$SDIST" ]; then
    python3 -m pip download --no-deps --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -d . >/dev/null
fi
SRC="$WORKDIR/llama_cpp_python-$VERSION"
if [ ! -d "$SRC" ]; then
    tar -xzf "$SDIST"
fi
LLAMA="$SRC/vendor/llama.cpp"
[ -f "$LLAMA/CMakeLists.txt" ] || { echo "build.sh: $LLAMA/CMakeLists.txt missing: not the expected sdist layout" >&2; exit 1; }

# cmake and ninja from PyPI in a private venv, so nothing global changes.
if [ ! -x venv/bin/cmake ] || [ ! -x venv/bin/ninja ]; then
    python3 -m venv venv
    venv/bin/pip install --quiet cmake ninja
fi
export PATH="$WORKDIR/venv/bin:$PATH"

nice -n 19 cmake -S "$LLAMA" -B build -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_BUILD_TOOLS=ON \
    -DGGML_NATIVE=ON \
    -DGGML_OPENMP=OFF \
    -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DGGML_BLAS=OFF >/dev/null
nice -n 19 cmake --build build -j "$JOBS" --target llama-perplexity llama-bench llama-tokenize

for tool in llama-perplexity llama-bench llama-tokenize; do
    [ -x "build/bin/$tool" ] || { echo "build.sh: build/bin/$tool was not built" >&2; exit 1; }
done
echo "llama.cpp tools in $WORKDIR/build/bin (llama-cpp-python $VERSION sdist)"
