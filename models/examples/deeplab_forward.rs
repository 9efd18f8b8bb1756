//! Forward time of DeepLabv3 on candle, CPU or CUDA, for the candle-vs-PyTorch comparisons in
//! docs/benchmarks.md (`scripts/bench_cpu_forward.sh` and `scripts/bench_gpu_forward.sh` run it
//! beside `scripts/bench_forward.py`):
//!
//! ```sh
//! cargo run --release -p models --example deeplab_forward -- \
//!     --preset resnet10_os16_w8 --batch 8 --size 224 --iters 20 --warmup 3 \
//!     [--weights models/checkpoints/deeplabv3_synth.safetensors] [--seed 0] [--dump out.f32] [--device cuda]
//! ```
//!
//! Builds the preset in eval mode (no auxiliary head; `fake_classifier` when the checkpoint has
//! it), runs `--warmup` untimed and `--iters` timed forward passes on a fixed ImageNet-normalised
//! batch ([`input_value`], which the Python side reproduces exactly) and prints one JSON line.
//! Threads: candle's CPU kernels use rayon and candle's own pool, both sized by
//! `RAYON_NUM_THREADS` (default: the physical cores); `threads` reports that number.
//! `--dump PATH` writes the segmentation logits `out` (`N×1×size×size`) of the last pass as raw
//! little-endian f32, and with a fake classifier its `N` logits to `PATH.fake_logit`.
//! `--device cuda` (build with `--features cuda`) runs on the GPU; every timed pass then ends
//! with a device synchronisation, since CUDA kernels run asynchronously
//! (`scripts/bench_gpu_forward.sh`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use models::candle_core::{Device, Result as CandleResult, Tensor};
use models::{
    checkpoint, new_seeded, parse_device, DeepLabV3, DeepLabV3Config, IMAGENET_MEAN, IMAGENET_STD,
    PRESETS,
};

struct Args {
    preset: String,
    batch: usize,
    size: usize,
    iters: usize,
    warmup: usize,
    weights: Option<PathBuf>,
    seed: u64,
    dump: Option<PathBuf>,
    device: String,
}

const USAGE: &str = "usage: deeplab_forward [--preset NAME] [--batch N] [--size PX] [--iters N] \
     [--warmup N] [--weights PATH] [--seed N] [--dump PATH] [--device cpu|cuda|cuda:N]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        preset: "resnet10_os16_w8".into(),
        batch: 8,
        size: 224,
        iters: 10,
        warmup: 2,
        weights: None,
        seed: 0,
        dump: None,
        device: "cpu".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |v: &str| -> Result<usize, String> {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: expected a non-negative integer, got '{v}'"))
        };
        match flag.as_str() {
            "--preset" => args.preset = value,
            "--batch" => args.batch = number(&value)?,
            "--size" => args.size = number(&value)?,
            "--iters" => args.iters = number(&value)?,
            "--warmup" => args.warmup = number(&value)?,
            "--weights" => args.weights = Some(PathBuf::from(value)),
            "--seed" => args.seed = number(&value)? as u64,
            "--dump" => args.dump = Some(PathBuf::from(value)),
            "--device" => args.device = value,
            other => return Err(format!("unknown flag '{other}'\n{USAGE}")),
        }
    }
    if args.batch == 0 || args.iters == 0 || args.size < 32 {
        return Err("--batch and --iters must be positive and --size at least 32".into());
    }
    Ok(args)
}

/// Element `idx` of the flattened `N×3×size×size` input: a pseudo-random byte
/// (Knuth's multiplicative hash of the index), scaled to [0, 1] and normalised with the
/// ImageNet mean and std of its channel `c`, each step rounded to f32 (numpy float32 repeats it).
fn input_value(idx: u64, c: usize) -> f32 {
    let byte = ((idx.wrapping_mul(2_654_435_761) >> 16) & 255) as f32;
    (byte / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
}

fn input(batch: usize, size: usize, device: &Device) -> CandleResult<Tensor> {
    let plane = size * size;
    let data: Vec<f32> = (0..batch * 3 * plane)
        .map(|i| input_value(i as u64, (i / plane) % 3))
        .collect();
    Tensor::from_vec(data, (batch, 3, size, size), device)
}

fn build(args: &Args, device: &Device) -> Result<DeepLabV3, String> {
    let mut config = DeepLabV3Config::preset(&args.preset).ok_or_else(|| {
        format!(
            "unknown preset '{}'; available: {}",
            args.preset,
            PRESETS.join(", ")
        )
    })?;
    config.aux = false;
    match &args.weights {
        Some(path) => {
            let vb = checkpoint(path, device).map_err(|e| e.to_string())?;
            config.fake_classifier = vb.contains_tensor("fake_classifier.weight");
            DeepLabV3::new(config, 0, vb).map_err(|e| {
                format!(
                    "'{}' does not fit preset '{}': {e}",
                    path.display(),
                    args.preset
                )
            })
        }
        None => new_seeded(config, args.seed, device).map_err(|e| e.to_string()),
    }
}

fn write_f32(path: &Path, t: &Tensor) -> Result<(), String> {
    let values = t
        .flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn run(args: &Args) -> Result<(), String> {
    let device = parse_device(&args.device)?;
    let model = build(args, &device)?;
    let x = input(args.batch, args.size, &device).map_err(|e| e.to_string())?;
    // candle's CPU backend computes eagerly; on CUDA the output is complete only after a
    // synchronisation (a no-op on the CPU).
    let forward = || {
        let output = model.forward_t(&x, false).map_err(|e| e.to_string())?;
        device.synchronize().map_err(|e| e.to_string())?;
        Ok::<_, String>(output)
    };
    for _ in 0..args.warmup {
        forward()?;
    }
    let mut times_ms = Vec::with_capacity(args.iters);
    let mut last = None;
    for _ in 0..args.iters {
        let start = Instant::now();
        let output = forward()?;
        times_ms.push(start.elapsed().as_secs_f64() * 1e3);
        last = Some(output);
    }
    times_ms.sort_by(f64::total_cmp);
    let n = times_ms.len();
    let median = if n % 2 == 1 {
        times_ms[n / 2]
    } else {
        (times_ms[n / 2 - 1] + times_ms[n / 2]) / 2.0
    };
    if let (Some(path), Some(output)) = (&args.dump, &last) {
        write_f32(path, &output.out)?;
        if let Some(fake) = &output.fake_logit {
            let mut fake_path = path.clone().into_os_string();
            fake_path.push(".fake_logit");
            write_f32(Path::new(&fake_path), fake)?;
        }
    }
    let line = serde_json::json!({
        "impl": "candle",
        "device": args.device,
        "cudnn": cfg!(feature = "cudnn"),
        "preset": args.preset,
        "batch": args.batch,
        "size": args.size,
        "threads": models::candle_core::utils::get_num_threads(),
        "ms_per_batch_median": median,
        "ms_per_image": median / args.batch as f64,
        "images_per_s": 1e3 * args.batch as f64 / median,
        "ms_per_batch_min": times_ms[0],
        "iters": args.iters,
        "warmup": args.warmup,
        "weights": args.weights.as_ref().map(|p| p.display().to_string()),
    });
    println!("{line}");
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|args| run(&args));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("deeplab_forward: {message}");
            ExitCode::FAILURE
        }
    }
}
