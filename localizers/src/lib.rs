//! The `Localizer` trait (SPEC §6) and the localizers that ship with the harness.
//!
//! A localizer reads 8-bit RGB face images and returns, for each, a map in [0,1] the size of its
//! input (1 = manipulated) and optionally an image-level "fake" score in [0,1]. This crate knows
//! nothing about suites: the harness resizes images to [`Localizer::input_size`], calls
//! [`Localizer::localize`] with batches of at most [`Localizer::max_batch`], and scores the maps.

use image::RgbImage;
pub use metrics::Map;

/// The image size a localizer wants to see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputSize {
    /// The harness resizes every image to exactly this size (bilinear, antialiased).
    Fixed { width: u32, height: u32 },
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
    /// The ground truth at the same size as `image`; only supplied to localizers whose
    /// [`Localizer::needs_ground_truth`] is true (the `oracle`).
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
    #[error("unknown localizer '{name}'{suggestion}; available: {available}")]
    Unknown { name: String, suggestion: String, available: String },
    #[error("localizer '{localizer}': bad parameter '{param}': {message}")]
    BadParameter { localizer: String, param: String, message: String },
    #[error("localizer '{localizer}' on image '{image}': {message}")]
    InvalidOutput { localizer: String, image: String, message: String },
    #[error("localizer '{localizer}' on image '{image}': {message}")]
    Failed { localizer: String, image: String, message: String },
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
    fn localize(&mut self, batch: &[LocalizerInput<'_>]) -> Result<Vec<Prediction>, LocalizerError>;
}
