#!/usr/bin/env bash
# Builds the CUDA binaries (candle's `cuda` feature) on a machine without a CUDA toolkit or GPU,
# e.g. to carry them to a GPU machine that has no Rust toolchain:
#
#   scripts/build_cuda.sh [CUDA_DIR]      # from the workspace root; CUDA_DIR [/opt/cuda13-pip]
#
# Installs CUDA 13.0's compiler, headers and libraries from NVIDIA's PyPI wheels into CUDA_DIR
# (once), then builds `harness` and the `deeplab_forward` example of `models` with
# `--features cuda` for compute capability CUDA_COMPUTE_CAP [90: H100/H200] into
# CARGO_TARGET_DIR [target-cuda]. With a system CUDA toolkit, plain
# `cargo build --release -p harness --features localizers/cuda` does the same.
# CUDNN=1 builds with `--features cudnn` instead (convolutions through cuDNN CUDNN_VERSION
# [9.19.*, what PyTorch 2.11's CUDA 13 wheels use], installed from PyPI likewise).
#
# At run time the binaries need the NVIDIA driver (libcuda.so.1) and CUDA 13's libcudart,
# libcublas and libcurand (and libcudnn.so.9 with CUDNN=1): a CUDA 13 toolkit, or the nvidia-*
# wheels a CUDA build of PyTorch installs (scripts/bench_gpu_forward.sh finds those).
set -euo pipefail
cd "$(dirname "$0")/.."

CUDA_DIR=${1:-/opt/cuda13-pip}
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target-cuda}
CUDA_HOME="$CUDA_DIR/nvidia/cu13"

if [[ ! -x "$CUDA_HOME/bin/nvcc" ]]; then
    wheels=$(mktemp -d)
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$wheels" \
        "nvidia-cuda-nvcc==13.0.*" "nvidia-cuda-crt==13.0.*" "nvidia-nvvm==13.0.*" \
        "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-cccl==13.0.*" "nvidia-cuda-nvrtc==13.0.*" \
        "nvidia-cublas==13.0.*" "nvidia-curand==10.4.*"
    mkdir -p "$CUDA_DIR"
    for wheel in "$wheels"/*.whl; do python3 -m zipfile -e "$wheel" "$CUDA_DIR"; done
    rm -rf "$wheels"
    chmod +x "$CUDA_HOME"/bin/* "$CUDA_HOME"/nvvm/bin/*
    # The wheels carry only versioned libraries; the linker looks for the plain names.
    for lib in cublas cublasLt cudart nvrtc; do ln -sf "lib$lib.so.13" "$CUDA_HOME/lib/lib$lib.so"; done
    ln -sf libcurand.so.10 "$CUDA_HOME/lib/libcurand.so"
    # libcuda.so comes with the driver, which a build machine lacks. The linker only needs a
    # library named libcuda.so.1 that defines the driver API's symbols: an empty function per
    # name in cuda.h, with each versioned variant (cuMemAlloc_v2, ...) the header maps names to.
    # The real driver replaces it at run time; it is never shipped.
    mkdir -p "$CUDA_HOME/lib/stubs"
    grep -ohE '\bcu[A-Z][A-Za-z0-9_]*' "$CUDA_HOME/include/cuda.h" | sort -u |
        while read -r name; do
            for suffix in "" _v2 _v3 _v4 _ptds _ptsz _v2_ptds _v2_ptsz _v3_ptds; do
                echo "void $name$suffix(void) {}"
            done
        done | sort -u >"$CUDA_HOME/lib/stubs/libcuda_stub.c"
    cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$CUDA_HOME/lib/stubs/libcuda.so" \
        "$CUDA_HOME/lib/stubs/libcuda_stub.c"
fi

FEATURE=cuda
if [[ "${CUDNN:-0}" == 1 ]]; then
    CUDNN_PATH="$CUDA_DIR/nvidia/cudnn"
    if [[ ! -e "$CUDNN_PATH/lib/libcudnn.so" ]]; then
        wheels=$(mktemp -d)
        python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 -d "$wheels" \
            "nvidia-cudnn-cu13==${CUDNN_VERSION:-9.19.*}"
        for wheel in "$wheels"/*.whl; do python3 -m zipfile -e "$wheel" "$CUDA_DIR"; done
        rm -rf "$wheels"
        for lib in "$CUDNN_PATH"/lib/libcudnn*.so.9; do ln -sf "$(basename "$lib")" "${lib%.9}"; done
    fi
    # cudarc reads cuDNN's version from cudnn_version.h under CUDNN_PATH.
    export CUDNN_PATH LIBRARY_PATH="$CUDNN_PATH/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
    FEATURE=cudnn
fi

export CUDA_HOME CUDA_PATH="$CUDA_HOME" CUDA_ROOT="$CUDA_HOME"
export PATH="$CUDA_HOME/bin:$PATH"
export LIBRARY_PATH="$CUDA_HOME/lib:$CUDA_HOME/lib/stubs${LIBRARY_PATH:+:$LIBRARY_PATH}"
export RUSTFLAGS="${RUSTFLAGS:-} -L $CUDA_HOME/lib -L $CUDA_HOME/lib/stubs"
nvcc --version | tail -n 2
cargo build --release -p harness --features "localizers/$FEATURE"
cargo build --release -p models --example deeplab_forward --features "$FEATURE"
echo "built: $CARGO_TARGET_DIR/release/harness, $CARGO_TARGET_DIR/release/examples/deeplab_forward"
