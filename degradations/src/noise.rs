//! `noise:V`: additive Gaussian noise of variance V on the 0..255 scale.

use image::RgbImage;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Normal};

use crate::text::check_variance;
use crate::{check_not_empty, DegradationError};

/// Adds independent N(0, `variance`) noise to every channel of every pixel, drawn in raster
/// order (row by row, R, G, B) from ChaCha20 seeded with `seed`, then rounds to the nearest
/// level (halves away from zero) and clips to 0..=255.
///
/// `variance` is on the 0..255 scale (σ = √variance levels), finite and ≥ 0; 0 returns the
/// image unchanged. Errors on an invalid variance or an empty image.
pub fn noise(image: &RgbImage, variance: f64, seed: u64) -> Result<RgbImage, DegradationError> {
    check_variance(variance)?;
    check_not_empty("noise", image)?;
    let normal =
        Normal::new(0.0, variance.sqrt()).map_err(|_| crate::ParseError::InvalidLevel {
            name: "noise",
            value: variance.to_string(),
        })?;
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut out = image.clone();
    for sample in out.iter_mut() {
        let noisy = f64::from(*sample) + normal.sample(&mut rng);
        *sample = noisy.round().clamp(0.0, 255.0) as u8;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variance_is_respected() {
        let img = RgbImage::from_pixel(64, 64, image::Rgb([128, 128, 128]));
        let out = noise(&img, 100.0, 7).unwrap();
        let diffs: Vec<f64> = out.iter().map(|&v| f64::from(v) - 128.0).collect();
        let n = diffs.len() as f64;
        let mean = diffs.iter().sum::<f64>() / n;
        // Rounding adds 1/12 to the variance.
        let var = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.5, "mean {mean}");
        assert!((var - 100.083).abs() < 6.0, "variance {var}");
    }

    #[test]
    fn clips_at_both_ends() {
        let img = RgbImage::from_fn(32, 32, |x, _| {
            if x % 2 == 0 {
                image::Rgb([0; 3])
            } else {
                image::Rgb([255; 3])
            }
        });
        let out = noise(&img, 400.0, 1).unwrap();
        // Half of the noise pushes out of range and must clip back to the extreme.
        let at_extremes = out.iter().filter(|&&v| v == 0 || v == 255).count();
        assert!(at_extremes > out.len() / 3, "{at_extremes}");
    }

    #[test]
    fn seeds_differ() {
        let img = RgbImage::from_pixel(8, 8, image::Rgb([100, 100, 100]));
        assert_ne!(noise(&img, 25.0, 1).unwrap(), noise(&img, 25.0, 2).unwrap());
    }
}
