//! Shared helpers of the DeepLabv3 tests: fixture access and a finite-difference gradient check.
#![allow(dead_code)]

use std::path::PathBuf;

use models::candle_core::{DType, Device, Result, Tensor, Var};

/// tests/fixtures/deeplabv3 at the workspace root (written by make_fixtures.py there).
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/deeplabv3")
}

/// A little-endian f32 fixture file.
pub fn read_f32(name: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixture_dir().join(name)).expect("fixture exists");
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// ops.json, parsed.
pub fn ops_json() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture_dir().join("ops.json")).expect("ops.json exists");
    serde_json::from_str(&text).expect("ops.json parses")
}

/// A numeric array of ops.json.
pub fn floats(json: &serde_json::Value, key: &str) -> Vec<f64> {
    json[key]
        .as_array()
        .unwrap_or_else(|| panic!("ops.json has no array '{key}'"))
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Flattened f64 copy of a tensor.
pub fn to_f64(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Checks the autodiff gradient of the scalar `loss(x)` at `x` (f64) against central finite
/// differences at `samples` flat indices; returns the largest relative error
/// `|analytic − numeric| / max(1e-3, |numeric|)`.
pub fn gradient_check(
    x: &Tensor,
    loss: impl Fn(&Tensor) -> Result<Tensor>,
    samples: &[usize],
) -> f64 {
    assert_eq!(x.dtype(), DType::F64, "gradient checks run in f64");
    let var = Var::from_tensor(x).unwrap();
    let grads = loss(var.as_tensor()).unwrap().backward().unwrap();
    let analytic = to_f64(grads.get(var.as_tensor()).expect("x has a gradient"));
    let base = to_f64(x);
    let eval = |values: &[f64]| -> f64 {
        let t = Tensor::from_vec(values.to_vec(), x.shape(), &Device::Cpu).unwrap();
        loss(&t).unwrap().to_scalar::<f64>().unwrap()
    };
    let eps = 1e-6;
    let mut worst = 0.0f64;
    for &i in samples {
        let mut plus = base.clone();
        plus[i] += eps;
        let mut minus = base.clone();
        minus[i] -= eps;
        let numeric = (eval(&plus) - eval(&minus)) / (2.0 * eps);
        worst = worst.max((analytic[i] - numeric).abs() / numeric.abs().max(1e-3));
    }
    worst
}

/// `n` pseudo-random values in [-1, 1) from `seed` (a fixed LCG, for test inputs).
pub fn test_values(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

/// FNV-1a, 32 bits, over the UTF-8 bytes.
fn fnv1a32(text: &str) -> u32 {
    text.bytes()
        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619))
}

/// make_fixtures.py's `formula_tensor` (shared by the DeepLab and Stehouwer fixtures).
pub fn formula_tensor(name: &str, dims: &[usize]) -> Tensor {
    let n: usize = dims.iter().product();
    let phase = 0.3 * (fnv1a32(name) % 1000) as f64;
    let leaf = name.rsplit('.').next().unwrap();
    let fan_in: usize = dims.iter().skip(1).product();
    let values: Vec<f32> = (0..n)
        .map(|i| {
            let u = 43758.5453 * (12.9898 * i as f64 + phase).sin();
            let s = 2.0 * (u - u.floor()) - 1.0;
            let v = match leaf {
                "running_var" => 1.0 + 0.5 * s,
                "running_mean" => 0.1 * s,
                "weight" if dims.len() == 1 => 1.0 + 0.2 * s,
                "bias" => 0.1 * s,
                "weight" => s * (3.0 / fan_in as f64).sqrt(),
                _ => panic!("no formula for {name}"),
            };
            v as f32
        })
        .collect();
    Tensor::from_vec(values, dims, &Device::Cpu).unwrap()
}

/// make_fixtures.py's `formula_input`: `x[b,c,y,x] = 2 sin(0.11 x (c+1) + 0.07 y + 0.5 c + 0.3 b)`.
pub fn formula_input(n: usize, h: usize, w: usize) -> Tensor {
    let mut values = Vec::with_capacity(n * 3 * h * w);
    for b in 0..n {
        for c in 0..3 {
            for y in 0..h {
                for x in 0..w {
                    let v = 2.0
                        * (0.11 * x as f64 * (c + 1) as f64
                            + 0.07 * y as f64
                            + 0.5 * c as f64
                            + 0.3 * b as f64)
                            .sin();
                    values.push(v as f32);
                }
            }
        }
    }
    Tensor::from_vec(values, (n, 3, h, w), &Device::Cpu).unwrap()
}
