//! Shared helpers of the DeepLabv3 tests: fixture access and a finite-difference gradient check.
#![allow(dead_code)]

use std::path::PathBuf;

use localizers::models::candle_core::{DType, Device, Result, Tensor, Var};

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
