//! The camera model of real photographs: render at 2S, area-downsample ×2, slight optical blur,
//! Poisson–Gaussian sensor noise, 8-bit rounding.
//!
//! Nothing here resamples onto a periodic grid, so real photos carry no resampling traces:
//! decimating a stationary 2S render by area averaging keeps it stationary.

use image::RgbImage;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::draw::render_scene;
use super::face::FaceParams;
use super::raster::{gaussian_kernel, Image3};

/// Per-identity camera parameters.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Camera {
    /// Optical blur σ in output pixels.
    pub blur_sigma: f32,
    /// Shot-noise variance per unit of signal, in 8-bit levels (variance = shot·v + read²).
    pub shot: f32,
    /// Read-noise standard deviation in 8-bit levels.
    pub read: f32,
}

impl Camera {
    /// Draws camera parameters from `rng`.
    pub fn random(rng: &mut ChaCha8Rng) -> Self {
        Self {
            blur_sigma: rng.random_range(0.35..0.6),
            shot: rng.random_range(0.02..0.12),
            read: rng.random_range(0.5..1.5),
        }
    }
}

/// The optical image at the sensor: the scene rendered at 2S, area-averaged to S and blurred.
pub(crate) fn optical_image(p: &FaceParams, cam: &Camera, size: usize) -> Image3 {
    let scene = render_scene(p, 2 * size).area_down(2);
    let k = gaussian_kernel(cam.blur_sigma);
    Image3::from_planes(&scene.planes().map(|pl| pl.convolve_sep(&k)))
}

/// Exposes the optical image: Poisson–Gaussian noise (heteroscedastic normal approximation of
/// Foi et al. 2008: variance `shot·v + read²` at level v) then rounding to 8 bits.
pub(crate) fn expose(optical: &Image3, cam: &Camera, rng: &mut ChaCha8Rng) -> RgbImage {
    let mut out = RgbImage::new(optical.w as u32, optical.h as u32);
    for (o, p) in out.pixels_mut().zip(&optical.px) {
        for k in 0..3 {
            let v = (p[k] * 255.0).clamp(0.0, 255.0);
            let sd = (cam.shot * v + cam.read * cam.read).sqrt();
            let n: f32 = rng.sample(StandardNormal);
            o[k] = (v + sd * n).clamp(0.0, 255.0).round() as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn noise_variance_grows_with_signal() {
        let cam = Camera {
            blur_sigma: 0.5,
            shot: 0.1,
            read: 1.0,
        };
        let var_at = |level: f32| {
            let img = Image3::filled(64, 64, [level / 255.0; 3]);
            let out = expose(&img, &cam, &mut ChaCha8Rng::seed_from_u64(3));
            let v: Vec<f64> = out.as_raw().iter().map(|&b| b as f64).collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64
        };
        // Expected: 0.1·v + 1 plus 1/12 from rounding.
        let (lo, hi) = (var_at(20.0), var_at(200.0));
        assert!((lo - 3.08).abs() < 0.5, "variance at 20: {lo}");
        assert!((hi - 21.08).abs() < 2.0, "variance at 200: {hi}");
    }
}
