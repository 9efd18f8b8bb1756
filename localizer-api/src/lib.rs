//! The `Localizer` trait (docs/localizers.md) and the types around it: what a localizer is given
//! ([`LocalizerInput`], at its [`InputSize`]), what it returns ([`Prediction`]), how it fails
//! ([`LocalizerError`]) and the output contract ([`validate_predictions`]).
//!
//! A localizer reads 8-bit RGB face images and returns, for each, a map in [0,1] the size of its
//! input (1 = manipulated) and optionally an image-level "fake" score in [0,1]. This crate knows
//! nothing about suites: the harness resizes images to [`Localizer::input_size`], calls
//! [`Localizer::localize`] with batches of at most [`Localizer::max_batch`], and scores the maps.
//! It depends on neither candle nor a plugin loader, so a localizer can implement the trait
//! without compiling the harness's networks.

use image::RgbImage;
pub use metrics::Map;

pub mod params;
mod validate;

pub use params::Params;
pub use validate::validate_predictions;

/// The image size a localizer wants to see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputSize {
    /// The harness resizes every image to exactly this size (bilinear, antialiased).
    Fixed {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The image is passed at its native size (no resampling, which would mask resampling traces).
    Native,
    /// The image is resized to the suite's evaluation size (used by `oracle`).
    Evaluation,
}

/// One image handed to a localizer.
#[derive(Clone, Copy, Debug)]
pub struct LocalizerInput<'a> {
    /// Stable image id (manifest `id`), for error messages and seeding.
    pub id: &'a str,
    /// The (possibly degraded) image, already at the localizer's input size.
    pub image: &'a RgbImage,
    /// The ground truth (paper eq. 2, values in [0,1]) at the same size as `image`; only supplied
    /// to localizers whose [`Localizer::needs_ground_truth`] is true (the `oracle`). Those declare
    /// [`InputSize::Evaluation`], so the harness hands it over at the suite's evaluation size,
    /// resized from the native size with an area filter as for scoring.
    pub ground_truth: Option<&'a Map>,
}

/// What a localizer returns for one image.
#[derive(Clone, Debug)]
pub struct Prediction {
    /// Map in [0,1], same width and height as the input image.
    pub map: Map,
    /// Image-level probability that the image is fake, if the localizer has one.
    pub score: Option<f32>,
}

/// Errors a localizer reports instead of panicking.
#[derive(Debug, thiserror::Error)]
pub enum LocalizerError {
    /// No localizer of that kind is registered.
    #[error("unknown localizer '{name}'{suggestion}; available: {available}")]
    Unknown {
        /// The kind that was asked for.
        name: String,
        /// `""` or `"; did you mean 'x'?"`.
        suggestion: String,
        /// Comma-separated registered kinds.
        available: String,
    },
    /// A construction parameter is unknown, ill-typed or out of range.
    #[error("localizer '{localizer}': bad parameter '{param}': {message}")]
    BadParameter {
        /// Localizer kind.
        localizer: String,
        /// Parameter name as given.
        param: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A prediction broke the output contract (count, size, range); see [`validate_predictions`].
    #[error("localizer '{localizer}' on image '{image}': {message}")]
    InvalidOutput {
        /// Localizer name.
        localizer: String,
        /// Image id (manifest `id`).
        image: String,
        /// What is wrong, with the first offending pixel where there is one.
        message: String,
    },
    /// The localizer could not process an image (bad input, missing ground truth, ...).
    #[error("localizer '{localizer}' on image '{image}': {message}")]
    Failed {
        /// Localizer name.
        localizer: String,
        /// Image id (manifest `id`).
        image: String,
        /// What went wrong and how to fix it.
        message: String,
    },
}

/// A fake-region localizer.
pub trait Localizer: Send {
    /// Name as used in suites and reports.
    fn name(&self) -> &str;
    /// Size the harness resizes images to before calling [`Localizer::localize`].
    fn input_size(&self) -> InputSize;
    /// Largest batch `localize` accepts.
    fn max_batch(&self) -> usize {
        1
    }
    /// True if the localizer must be given the ground truth (only the `oracle`).
    fn needs_ground_truth(&self) -> bool {
        false
    }
    /// Localizes a batch; returns one prediction per input, in order.
    fn localize(&mut self, batch: &[LocalizerInput<'_>])
        -> Result<Vec<Prediction>, LocalizerError>;
}
