#!/usr/bin/env bash
# DeepLabv3 CPU forward time, candle vs PyTorch eager, same thread count, same run
# (docs/benchmarks.md, "DeepLabv3 forward on the CPU: candle vs PyTorch").
#
#   scripts/bench_cpu_forward.sh            # from the workspace root
#
# Builds the `deeplab_forward` example (release), checks once that candle and torch give the
# same output for the bundled preset, then runs candle and torch alternately for both models,
# ROUNDS rounds (a shared, noisy machine drifts; interleaving exposes both sides to the same
# load), and prints the median ms/image per model and side with the ratio candle/torch.
#
# Environment (defaults in brackets):
#   PY [made here]             Python with torch 2.13, torchvision 0.28, safetensors; unset, the
#                              script makes a venv in target/bench-torch-venv from PyPI on first
#                              use (about 3 GB: the torch wheel's CUDA libraries are needed for
#                              `import torch`) and reuses it
#   THREADS [nproc]            RAYON_NUM_THREADS for candle, torch.set_num_threads for torch
#   ROUNDS [3]  BATCH [8]  SIZE [224]
#   SMALL_ITERS [20] SMALL_WARMUP [3]   bundled preset (resnet10_os16_w8)
#   R50_ITERS [3] R50_WARMUP [1]        resnet50 (several seconds per batch of 8 here)
#   WEIGHTS [models/checkpoints/deeplabv3_synth.safetensors]
#   LOG [a fresh temporary directory]   where the JSON lines and the dump go
# Other variables pass through: OMP_WAIT_POLICY=PASSIVE keeps torch's idle OpenMP threads from
# spinning, which on an oversubscribed machine turns its 2-thread runs from bimodal to steady
# (docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if [ -z "${PY:-}" ]; then
    venv="$CARGO_TARGET_DIR/bench-torch-venv"
    if ! "$venv/bin/python" -c 'import torch, torchvision, safetensors' 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet torch==2.13.* torchvision==0.28.* safetensors numpy
    fi
    PY="$venv/bin/python"
fi
THREADS=${THREADS:-$(nproc)}
ROUNDS=${ROUNDS:-3}
BATCH=${BATCH:-8}
SIZE=${SIZE:-224}
SMALL_ITERS=${SMALL_ITERS:-20}
SMALL_WARMUP=${SMALL_WARMUP:-3}
R50_ITERS=${R50_ITERS:-3}
R50_WARMUP=${R50_WARMUP:-1}
WEIGHTS=${WEIGHTS:-models/checkpoints/deeplabv3_synth.safetensors}
LOG=${LOG:-$(mktemp -d /tmp/bench_cpu_forward.XXXXXX)}
mkdir -p "$LOG"
RESULTS="$LOG/results.jsonl"
: >"$RESULTS"

# candle's R50 forward at batch 8 peaks at about 5 GB resident: should memory run out, let the
# kernel's OOM killer take this benchmark rather than a training sharing the machine.
echo 1000 >/proc/self/oom_score_adj 2>/dev/null || true

cargo build --release -p models --example deeplab_forward
CANDLE="$CARGO_TARGET_DIR/release/examples/deeplab_forward"

echo "# nproc: $(nproc); threads: $THREADS; batch $BATCH, ${SIZE}x$SIZE; rounds: $ROUNDS"
echo "# $(uname -srm); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "# torch: $("$PY" -c 'import torch, torchvision; print(torch.__version__, "torchvision", torchvision.__version__)')"
echo "# OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset (the OpenMP default: idle torch threads spin)}"
echo "# start: $(uptime)"

# Parity: the same fixed input through both implementations of the bundled preset.
RAYON_NUM_THREADS=$THREADS "$CANDLE" --preset resnet10_os16_w8 --weights "$WEIGHTS" \
    --batch "$BATCH" --size "$SIZE" --iters 1 --warmup 0 --dump "$LOG/out.f32" >/dev/null
"$PY" scripts/bench_forward.py --preset resnet10_os16_w8 --weights "$WEIGHTS" \
    --batch "$BATCH" --size "$SIZE" --iters 1 --warmup 0 --threads "$THREADS" \
    --compare "$LOG/out.f32" | tail -n 1 | tee "$LOG/parity.json"

candle() { # preset iters warmup [weights]
    RAYON_NUM_THREADS=$THREADS "$CANDLE" --preset "$1" --batch "$BATCH" --size "$SIZE" \
        --iters "$2" --warmup "$3" ${4:+--weights "$4"} | tee -a "$RESULTS"
}
torch() { # preset iters warmup [weights]
    "$PY" scripts/bench_forward.py --preset "$1" --batch "$BATCH" --size "$SIZE" \
        --iters "$2" --warmup "$3" --threads "$THREADS" ${4:+--weights "$4"} | tee -a "$RESULTS"
}

for round in $(seq 1 "$ROUNDS"); do
    echo "# round $round: $(uptime | sed 's/.*load/load/')"
    # Alternate which side goes first, so neither always follows the other.
    if ((round % 2)); then
        candle resnet10_os16_w8 "$SMALL_ITERS" "$SMALL_WARMUP" "$WEIGHTS"
        torch resnet10_os16_w8 "$SMALL_ITERS" "$SMALL_WARMUP" "$WEIGHTS"
        candle resnet50 "$R50_ITERS" "$R50_WARMUP"
        torch resnet50 "$R50_ITERS" "$R50_WARMUP"
    else
        torch resnet10_os16_w8 "$SMALL_ITERS" "$SMALL_WARMUP" "$WEIGHTS"
        candle resnet10_os16_w8 "$SMALL_ITERS" "$SMALL_WARMUP" "$WEIGHTS"
        torch resnet50 "$R50_ITERS" "$R50_WARMUP"
        candle resnet50 "$R50_ITERS" "$R50_WARMUP"
    fi
done
echo "# end: $(uptime)"
echo "# log: $LOG"

"$PY" - "$RESULTS" <<'EOF'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
print()
print("| model | threads | candle ms/image | torch ms/image | candle/torch | candle best | torch best | best ratio |")
print("|---|---|---|---|---|---|---|---|")
for preset in ["resnet10_os16_w8", "resnet50"]:
    stats = {}
    for impl in ["candle", "torch"]:
        runs = [r for r in rows if r["preset"] == preset and r["impl"] == impl]
        if not runs:
            continue
        stats[impl] = (statistics.median(r["ms_per_image"] for r in runs),
                       [round(r["ms_per_image"], 1) for r in runs],
                       min(r["ms_per_batch_min"] for r in runs) / runs[0]["batch"], runs[0]["threads"])
    if len(stats) < 2:
        continue
    (c, c_runs, c_best, threads), (t, t_runs, t_best, _) = stats["candle"], stats["torch"]
    print(f"| {preset} | {threads} | {c:.1f} {c_runs} | {t:.1f} {t_runs} | {c / t:.2f} "
          f"| {c_best:.1f} | {t_best:.1f} | {c_best / t_best:.2f} |")
print("\nms/image: median over rounds of each run's median ms/batch ÷ batch (per-round values in")
print("brackets); best: the fastest single batch of all rounds ÷ batch.")
ratios = {"bundled": "resnet10_os16_w8", "resnet50": "resnet50"}
def ratio(preset):
    med = lambda impl: statistics.median(r["ms_per_image"] for r in rows if r["preset"] == preset and r["impl"] == impl)
    try:
        return f"{med('candle') / med('torch'):.2f}"
    except statistics.StatisticsError:
        return "n/a"
print("ratio " + " ".join(f"{k}={ratio(v)}" for k, v in ratios.items()))
EOF
