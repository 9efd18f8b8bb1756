//! Helpers of the unit tests: seeded tensors and their distance.

use candle_core::{Device, Tensor};
use rand::{RngExt, SeedableRng};

/// A CPU f32 tensor of `shape` with values uniform in `[low, high)` from a ChaCha stream.
pub fn seeded(shape: &[usize], seed: u64, low: f32, high: f32) -> Tensor {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let values: Vec<f32> = (0..shape.iter().product())
        .map(|_| rng.random_range(low..high))
        .collect();
    Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
}

/// The largest absolute difference between two tensors of one shape.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap()
}
