//! Errors of applying a degradation.

use crate::text::ParseError;

/// Why a degradation could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DegradationError {
    /// The degradation's parameter breaks the rules of its text form.
    #[error(transparent)]
    Invalid(#[from] ParseError),
    /// The image has no pixels.
    #[error("{name} cannot degrade an empty {width}x{height} image: give an image with at least one pixel")]
    EmptyImage {
        /// Degradation name.
        name: &'static str,
        /// Image width in pixels.
        width: u32,
        /// Image height in pixels.
        height: u32,
    },
    /// `disorganize` needs at least one pixel per tile.
    #[error("disorganize cuts the image into 2x2 tiles and needs at least 2x2 pixels, got {width}x{height}")]
    TooSmallToDisorganize {
        /// Image width in pixels.
        width: u32,
        /// Image height in pixels.
        height: u32,
    },
    /// JPEG limits each side to 65500 pixels.
    #[error("jpeg cannot encode a {width}x{height} image: JPEG allows at most {max} pixels per side; crop or resize it first")]
    TooLargeForJpeg {
        /// Image width in pixels.
        width: u32,
        /// Image height in pixels.
        height: u32,
        /// Largest side JPEG allows.
        max: u32,
    },
    /// libjpeg reported an error (its message code, see libjpeg's `jerror.h`).
    #[error("libjpeg failed while {stage} (libjpeg message code {code}); this is a bug for a valid RGB image, please report it")]
    Jpeg {
        /// `encoding` or `decoding`.
        stage: &'static str,
        /// libjpeg's `msg_code`, or -1 when only a text was available.
        code: i32,
    },
    /// fast_image_resize refused the resize.
    #[error("resize from {from:?} to {to:?} failed: {message}")]
    Resize {
        /// Source size (width, height).
        from: (u32, u32),
        /// Destination size (width, height).
        to: (u32, u32),
        /// The resizer's message.
        message: String,
    },
    /// A map given to [`crate::TilePermutation::try_apply`] differs in size from the image.
    #[error("the map is {map_width}x{map_height} but the tiles were cut from a {width}x{height} image: give the ground truth of that image, at its size")]
    SizeMismatch {
        /// Width of the image the permutation was drawn for.
        width: u32,
        /// Height of the image the permutation was drawn for.
        height: u32,
        /// Width of the map given.
        map_width: u32,
        /// Height of the map given.
        map_height: u32,
    },
}
