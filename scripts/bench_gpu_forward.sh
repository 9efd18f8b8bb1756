#!/usr/bin/env bash
# DeepLabv3 forward on an NVIDIA GPU, candle (CUDA build) vs PyTorch eager, same card, same run
# (docs/benchmarks.md, "DeepLabv3 forward on the GPU").
#
#   cargo build --release -p models --example deeplab_forward --features cuda  # nvcc, CUDA_COMPUTE_CAP=90
#   scripts/bench_gpu_forward.sh                                                   # on the GPU machine
#
# Checks parity first (bundled preset, batch 8: candle on the GPU against PyTorch on the GPU in
# strict float32, and against candle's CPU output when CPU_DUMP is given), then runs, ROUNDS
# times and alternating the order, candle and PyTorch for ResNet-101 DeepLabv3 and the bundled
# preset at batch BATCH: PyTorch both in strict float32 (like candle) and with its defaults
# (cuDNN convolutions in TF32). Prints images/s per model and side, and the ratios.
#
# Environment (defaults in brackets):
#   CANDLE [$CARGO_TARGET_DIR or target]/release/examples/deeplab_forward, built with --features cuda
#   CANDLE_CUDNN [unset]       a second build of the example with --features cudnn, timed too
#   PY [python3]                Python with torch (CUDA), torchvision, safetensors
#   ROUNDS [3]  BATCH [32]  SIZE [224]  ITERS [20]  WARMUP [5]
#   WEIGHTS [models/checkpoints/deeplabv3_synth.safetensors]
#   CPU_DUMP [unset]            the example's --dump of WEIGHTS on the CPU (batch 8, SIZE)
#   LOG [a fresh temporary directory]
# candle's CUDA build links CUDA 13's cudart, cuBLAS, cuRAND and NVRTC dynamically; when the
# system has none, the script uses the copies inside PyTorch's nvidia-* wheels.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-python3}
CANDLE=${CANDLE:-${CARGO_TARGET_DIR:-target}/release/examples/deeplab_forward}
ROUNDS=${ROUNDS:-3}
BATCH=${BATCH:-32}
SIZE=${SIZE:-224}
ITERS=${ITERS:-20}
WARMUP=${WARMUP:-5}
WEIGHTS=${WEIGHTS:-models/checkpoints/deeplabv3_synth.safetensors}
LOG=${LOG:-$(mktemp -d /tmp/bench_gpu_forward.XXXXXX)}
mkdir -p "$LOG"
RESULTS="$LOG/results.jsonl"
: >"$RESULTS"

if ! ldconfig -p | grep -q 'libcublas\.so\.13'; then
    LIBDIR=$("$PY" -c 'import glob, os, site
libs = ["libcublas.so.13", "libcudart.so.13", "libcurand.so.10", "libcudnn.so.9"]
dirs = {os.path.dirname(p) for d in site.getsitepackages() for lib in libs
        for p in glob.glob(f"{d}/nvidia/**/{lib}", recursive=True)}
print(":".join(sorted(dirs)))')
    export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if ! ldconfig -p | grep -q 'libcuda\.so\.1'; then
    # The driver's library, where container images mount it.
    for dir in /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64; do
        if [[ -e $dir/libcuda.so.1 ]]; then
            export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$dir"
            break
        fi
    done
fi
if ldd "$CANDLE" | grep 'not found'; then
    echo "error: $CANDLE needs libraries that are not installed (above)" >&2
    exit 1
fi

echo "# $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader)"
echo "# torch: $("$PY" -c 'import torch, torchvision; print(torch.__version__, "torchvision", torchvision.__version__, "cuDNN", torch.backends.cudnn.version())')"
echo "# batch $BATCH, ${SIZE}x$SIZE, $ITERS timed passes after $WARMUP, $ROUNDS rounds"

# Parity: the same fixed input through both implementations of the bundled preset, on the GPU.
for binary in "$CANDLE" ${CANDLE_CUDNN:+"$CANDLE_CUDNN"}; do
    dump="$LOG/gpu_out_$(basename "$binary").f32"
    "$binary" --device cuda --preset resnet10_os16_w8 --weights "$WEIGHTS" --batch 8 \
        --size "$SIZE" --iters 1 --warmup 0 --dump "$dump" >/dev/null
    "$PY" scripts/bench_forward.py --device cuda --tf32 off --preset resnet10_os16_w8 \
        --weights "$WEIGHTS" --batch 8 --size "$SIZE" --iters 1 --warmup 0 \
        --compare "$dump" | tail -n 1 | tee -a "$LOG/parity.json"
done
if [[ -n "${CPU_DUMP:-}" ]]; then
    "$PY" - "$CPU_DUMP" "$LOG/gpu_out_$(basename "$CANDLE").f32" <<'EOF' | tee "$LOG/parity_cpu.json"
import json, sys
import numpy as np
cpu, gpu = (np.fromfile(p, dtype="<f4") for p in sys.argv[1:3])
print(json.dumps({"candle_cpu_vs_cuda_out_max_abs_diff": float(np.abs(cpu - gpu).max()),
                  "out_max_abs": float(np.abs(cpu).max())}))
EOF
fi

candle() { # preset [weights]
    for binary in "$CANDLE" ${CANDLE_CUDNN:+"$CANDLE_CUDNN"}; do
        "$binary" --device cuda --preset "$1" --batch "$BATCH" --size "$SIZE" --iters "$ITERS" \
            --warmup "$WARMUP" ${2:+--weights "$2"} | tee -a "$RESULTS"
    done
}
torch() { # preset tf32
    "$PY" scripts/bench_forward.py --device cuda --tf32 "$2" --preset "$1" --batch "$BATCH" \
        --size "$SIZE" --iters "$ITERS" --warmup "$WARMUP" ${3:+--weights "$3"} | tee -a "$RESULTS"
}
for round in $(seq 1 "$ROUNDS"); do
    echo "# round $round"
    if ((round % 2)); then
        candle resnet101
        torch resnet101 off
        torch resnet101 on
        candle resnet10_os16_w8 "$WEIGHTS"
        torch resnet10_os16_w8 off "$WEIGHTS"
    else
        torch resnet101 on
        torch resnet101 off
        candle resnet101
        torch resnet10_os16_w8 off "$WEIGHTS"
        candle resnet10_os16_w8 "$WEIGHTS"
    fi
done

"$PY" - "$RESULTS" <<'EOF'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
print()
print("| model | side | images/s (median of rounds) | per round | ÷ PyTorch strict f32 |")
print("|---|---|---|---|---|")
for preset in ["resnet101", "resnet10_os16_w8"]:
    sides = {}
    for r in rows:
        if r["preset"] != preset:
            continue
        if r["impl"] == "candle":
            side = "candle + cuDNN" if r.get("cudnn") else "candle"
        else:
            side = f"torch, TF32 {r['tf32']}"
        sides.setdefault(side, []).append(r["images_per_s"])
    if "torch, TF32 off" not in sides:
        continue
    reference = statistics.median(sides["torch, TF32 off"])
    for side, values in sorted(sides.items()):
        value = statistics.median(values)
        print(f"| {preset} | {side} | {value:.1f} | {[round(v, 1) for v in values]} | {value / reference:.2f} |")
EOF
echo "# log: $LOG"
