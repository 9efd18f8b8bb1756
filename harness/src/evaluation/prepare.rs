//! A work unit's inputs: the image as a condition presents it, its ground truth at the
//! evaluation size, and the view a localizer asks for.

use image::RgbImage;
use localizers::InputSize;
use metrics::Map;

use crate::config::{Condition, Suite};
use crate::data::{self, seeds, ImageRef, LoadedImage};

/// An image as one condition presents it, with its ground truth at the evaluation size.
pub struct Prepared {
    /// The (degraded) image at its native size.
    pub image: RgbImage,
    /// Ground truth at the evaluation size.
    pub ground_truth: Map,
}

/// Applies a condition to a loaded image and derives the ground truth (docs/data.md, docs/degradations.md).
pub fn prepare(
    suite: &Suite,
    image: &ImageRef,
    loaded: &LoadedImage,
    condition: &Condition,
) -> Result<Prepared, String> {
    let (degraded, tiles) = match &condition.degradation {
        None => (loaded.fake.clone(), None),
        Some(d) => {
            let seed = seeds::from_labels(suite.seed, &[&image.id, &condition.key]);
            let out = d
                .apply(&loaded.fake, seed)
                .map_err(|e| format!("{}: {e}", image.id))?;
            (out.image, out.tiles)
        }
    };
    let native_gt = data::native_ground_truth(
        &image.id,
        image.kind,
        loaded,
        &degraded,
        tiles.as_ref(),
        suite.ground_truth,
    )?;
    let size = suite.evaluation.size;
    Ok(Prepared {
        image: degraded,
        ground_truth: data::resize_map_area(&native_gt, size, size),
    })
}

/// The image a localizer sees, resized to its declared input size.
pub fn localizer_view(image: &RgbImage, input: InputSize, eval_size: u32) -> RgbImage {
    match input {
        InputSize::Native => image.clone(),
        InputSize::Evaluation => data::resize_rgb(image, eval_size, eval_size),
        InputSize::Fixed { width, height } => data::resize_rgb(image, width, height),
    }
}
