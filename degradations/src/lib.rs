//! Image degradations of the robustness experiments (docs/degradations.md), on 8-bit RGB
//! images.
//!
//! Each degradation reproduces the reference library a Python pipeline would use, so that
//! scores stay comparable with the FakeLocator paper's setting:
//!
//! | text | what | reference |
//! |---|---|---|
//! | `jpeg:Q` | JPEG round trip at quality Q (1..=100), baseline, 4:2:0 | PIL `save(quality=Q)`, pixel-identical |
//! | `blur:K` | Gaussian blur, K×K kernel, K odd | `cv2.GaussianBlur(img, (K, K), 0)`, bit-identical |
//! | `noise:V` | additive Gaussian noise of variance V (0..255 scale) | seeded ChaCha20 |
//! | `lowres:R` | shrink each side by R, then restore the size | PIL BILINEAR round trip, ±2 |
//! | `disorganize` | shuffle the 2×2 tiles (non-identity permutation) | seeded ChaCha20 |
//!
//! Every degradation keeps the width, height and pixel type; the same seed gives the same
//! bytes, and deterministic degradations ignore the seed.
//!
//! ```
//! use degradations::Degradation;
//! let d: Degradation = "blur:7".parse().unwrap();
//! let img = image::RgbImage::from_pixel(16, 16, image::Rgb([10, 200, 30]));
//! let out = d.apply(&img, 42).unwrap();
//! assert_eq!(out.image.dimensions(), (16, 16));
//! assert!(out.tiles.is_none());
//! ```

mod blur;
mod disorganize;
mod error;
mod jpeg;
mod lowres;
mod noise;
mod ops;
mod text;

pub use blur::{blur, gaussian_kernel_fixed_point, MAX_BLUR_KERNEL};
pub use disorganize::{disorganize, TilePermutation};
pub use error::DegradationError;
pub use jpeg::{jpeg, jpeg_decode, jpeg_dimensions, jpeg_encode};
pub use lowres::{lowres, lowres_size, ResizeFilter};
pub use noise::noise;
pub use ops::{op_info, OpInfo, OPS};
pub use text::ParseError;

use image::RgbImage;

/// One degradation with its parameter, as a suite names it: `jpeg:50`, `blur:7`, `noise:25`,
/// `lowres:2`, `disorganize`.
///
/// The text form ([`std::str::FromStr`], [`std::fmt::Display`], serde) is canonical and
/// round-trips; `lowres` with non-default filters reads `lowres:R:DOWN:UP`.
#[derive(Clone, Debug, PartialEq)]
pub enum Degradation {
    /// JPEG encode (libjpeg, IJG tables, baseline, 4:2:0) and decode; `quality` in 1..=100.
    Jpeg {
        /// IJG quality factor, 1 (worst) to 100 (best).
        quality: u8,
    },
    /// OpenCV Gaussian blur with a `kernel`×`kernel` window and σ derived from it; `kernel`
    /// odd, 1 (identity) to [`MAX_BLUR_KERNEL`].
    Blur {
        /// Kernel side in pixels.
        kernel: u32,
    },
    /// Additive Gaussian noise per channel and pixel, rounded and clipped.
    Noise {
        /// Variance on the 0..255 intensity scale (σ = √variance), finite and ≥ 0.
        variance: f64,
    },
    /// Shrink each side to `round(side / ratio)` (at least 1) with `down`, then restore the
    /// original size with `up`.
    LowRes {
        /// Shrink factor, finite and ≥ 1.
        ratio: f64,
        /// Filter of the shrinking resize (default [`ResizeFilter::Bilinear`], antialiased).
        down: ResizeFilter,
        /// Filter of the enlarging resize (default [`ResizeFilter::Bilinear`]).
        up: ResizeFilter,
    },
    /// Cut into 2×2 tiles and reassemble them in a seeded non-identity order.
    Disorganize,
}

/// A degraded image and, for `disorganize`, the tile permutation the ground truth must follow.
#[derive(Clone, Debug, PartialEq)]
pub struct Degraded {
    /// The degraded image, same size as the input.
    pub image: RgbImage,
    /// The 2×2 tile permutation applied (only for [`Degradation::Disorganize`]).
    pub tiles: Option<TilePermutation>,
}

impl Degradation {
    /// `lowres` with the default filters (bilinear down, antialiased; bilinear up).
    pub fn lowres(ratio: f64) -> Self {
        Degradation::LowRes {
            ratio,
            down: ResizeFilter::Bilinear,
            up: ResizeFilter::Bilinear,
        }
    }

    /// The name used in the text form: `"jpeg"`, `"blur"`, `"noise"`, `"lowres"` or
    /// `"disorganize"`.
    pub fn name(&self) -> &'static str {
        match self {
            Degradation::Jpeg { .. } => "jpeg",
            Degradation::Blur { .. } => "blur",
            Degradation::Noise { .. } => "noise",
            Degradation::LowRes { .. } => "lowres",
            Degradation::Disorganize => "disorganize",
        }
    }

    /// The level as a number: quality q, kernel k, variance v or ratio r; `None` for
    /// `disorganize`.
    pub fn level(&self) -> Option<f64> {
        match *self {
            Degradation::Jpeg { quality } => Some(f64::from(quality)),
            Degradation::Blur { kernel } => Some(f64::from(kernel)),
            Degradation::Noise { variance } => Some(variance),
            Degradation::LowRes { ratio, .. } => Some(ratio),
            Degradation::Disorganize => None,
        }
    }

    /// Checks the parameter against the rules of the text form (also applied by `apply`).
    pub fn validate(&self) -> Result<(), ParseError> {
        text::validate(self)
    }

    /// Applies the degradation. `seed` drives `noise` and `disorganize` and is ignored by the
    /// deterministic ones.
    ///
    /// Errors on an invalid parameter, an empty image, and images a degradation cannot
    /// handle (JPEG sides above 65500, `disorganize` below 2×2).
    pub fn apply(&self, image: &RgbImage, seed: u64) -> Result<Degraded, DegradationError> {
        self.validate()?;
        let plain = |image| Ok(Degraded { image, tiles: None });
        match *self {
            Degradation::Jpeg { quality } => plain(jpeg(image, quality)?),
            Degradation::Blur { kernel } => plain(blur(image, kernel)?),
            Degradation::Noise { variance } => plain(noise(image, variance, seed)?),
            Degradation::LowRes { ratio, down, up } => plain(lowres(image, ratio, down, up)?),
            Degradation::Disorganize => {
                let (image, tiles) = disorganize(image, seed)?;
                Ok(Degraded {
                    image,
                    tiles: Some(tiles),
                })
            }
        }
    }
}

/// Rejects images without pixels, which no degradation can process meaningfully.
fn check_not_empty(name: &'static str, image: &RgbImage) -> Result<(), DegradationError> {
    let (width, height) = image.dimensions();
    if width == 0 || height == 0 {
        return Err(DegradationError::EmptyImage {
            name,
            width,
            height,
        });
    }
    Ok(())
}
