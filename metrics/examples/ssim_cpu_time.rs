//! CPU time per SSIM call on the 224×224 fixture pair, the counterpart of
//! `tests/fixtures/metrics/bench_skimage.py`'s CPU-time column. CPU time (this thread's run time
//! from `/proc/thread-self/schedstat`, Linux only) is much less disturbed than wall time when
//! other jobs share the cores.
//!
//! Run from the workspace root: `cargo run --release -p metrics --example ssim_cpu_time`

use std::hint::black_box;

use metrics::{ssim, Map};

/// Calls per measurement, and measurements (the best is reported).
const CALLS: u64 = 1000;
const ROUNDS: usize = 7;

fn thread_cpu_ns() -> Result<u64, String> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .map_err(|e| format!("cannot read /proc/thread-self/schedstat (Linux only): {e}"))?;
    text.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("unexpected schedstat content: {text:?}"))
}

fn load(which: &str) -> Result<Map, String> {
    let path = format!("tests/fixtures/metrics/maps/eval_224_{which}.f32");
    let bytes =
        std::fs::read(&path).map_err(|e| format!("{path}: {e} (run from the workspace root)"))?;
    let values = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Map::from_raw(224, 224, values).ok_or_else(|| format!("{path} is not 224x224 f32"))
}

fn main() -> Result<(), String> {
    let (pred, gt) = (load("pred")?, load("gt")?);
    let mut best = u64::MAX;
    for _ in 0..ROUNDS {
        let start = thread_cpu_ns()?;
        for _ in 0..CALLS {
            black_box(ssim(black_box(&pred), black_box(&gt)).map_err(|e| e.to_string())?);
        }
        best = best.min((thread_cpu_ns()? - start) / CALLS);
    }
    println!(
        "rust SSIM 224x224: best CPU time {:.1} us per call",
        best as f64 / 1e3
    );
    Ok(())
}
