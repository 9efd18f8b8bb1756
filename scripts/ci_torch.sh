#!/usr/bin/env bash
# Builds and tests the TorchScript localizer (plugin-host feature `torch`, which
# `localizers/torch` forwards to; tch 0.26) against libtorch 2.13.0 taken from PyPI's torch
# wheel, installed lean (no cuDNN/cuBLAS wheels: only the two CUDA libraries libtorch_cpu links)
# into a venv that later runs reuse.
# Usage: scripts/ci_torch.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${TORCH_VENV:-target/torch-venv}"
STAMP="$VENV/.lean-torch-2.13.0"
if [ ! -f "$STAMP" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --no-deps \
    torch==2.13.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
  touch "$STAMP"
fi
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
TORCH_DIR="$SITE/torch"
# `import torch` fails in this lean venv (no cuDNN), so point torch-sys at the files directly.
export LIBTORCH="$TORCH_DIR"
# The test binaries find libtorch at run time here (an rpath in RUSTFLAGS would rebuild everything).
export LD_LIBRARY_PATH="$TORCH_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cargo test -p plugin-host --features torch "$@"
