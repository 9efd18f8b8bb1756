//! Shared helpers of the Stehouwer/Xception tests: fixtures of tests/fixtures/stehouwer and the
//! fill formula of its make_fixtures.py.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use localizers::models::candle_core::{DType, Device, Tensor};
use localizers::models::candle_nn::VarBuilder;
use localizers::models::{Xception, XceptionConfig};

/// tests/fixtures/stehouwer at the workspace root.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/stehouwer")
}

/// A JSON fixture, parsed.
pub fn fixture(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture_dir().join(name)).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture parses")
}

/// The numbers of a JSON array.
pub fn floats(value: &serde_json::Value) -> Vec<f32> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number") as f32)
        .collect()
}

/// FNV-1a, 32 bits, over the UTF-8 bytes.
fn fnv1a32(text: &str) -> u32 {
    text.bytes()
        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619))
}

/// make_fixtures.py's `formula_tensor` (the DeepLab fixtures' formula).
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

/// The formula-filled tensors of every parameter and buffer of `config`.
pub fn formula_tensors(config: XceptionConfig) -> HashMap<String, Tensor> {
    Xception::state_dict_shapes(config)
        .unwrap()
        .into_iter()
        .map(|(name, dims)| {
            let t = formula_tensor(&name, &dims);
            (name, t)
        })
        .collect()
}

/// `config` with every tensor filled by the formula (read-only tensors: for eval).
pub fn formula_model(config: XceptionConfig) -> Xception {
    let vb = VarBuilder::from_tensors(formula_tensors(config), DType::F32, &Device::Cpu);
    Xception::new(config, vb).unwrap()
}

/// Largest |a − b| relative to the largest |b|.
pub fn relative_error(ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len(), "length mismatch");
    let scale = theirs.iter().fold(1e-30f32, |m, v| m.max(v.abs()));
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max)
        / scale
}

/// Flattened f32 copy of a tensor.
pub fn flat(t: &Tensor) -> Vec<f32> {
    t.to_dtype(DType::F32)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}
