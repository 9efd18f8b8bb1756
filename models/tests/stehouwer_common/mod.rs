//! Shared helpers of the Stehouwer/Xception tests: fixtures of tests/fixtures/stehouwer and the
//! fill formula of its make_fixtures.py.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use models::candle_core::{DType, Device, Tensor};
use models::candle_nn::VarBuilder;
use models::{Xception, XceptionConfig};

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

#[allow(unused_imports)]
pub use super::deeplab_common::{formula_input, formula_tensor};

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
