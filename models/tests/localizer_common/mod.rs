//! Test helpers shared by the `deeplabv3` and `stehouwer` localizer tests.

use image::RgbImage;
use localizer_api::{Localizer, LocalizerInput, Prediction};

/// `n` distinct test images of `size`×`size` pixels.
pub fn images(n: usize, size: u32) -> Vec<RgbImage> {
    (0..n)
        .map(|k| {
            RgbImage::from_fn(size, size, |x, y| {
                image::Rgb([
                    (x * 5 + k as u32 * 60) as u8,
                    (y * 3) as u8,
                    ((x * y) % 251) as u8,
                ])
            })
        })
        .collect()
}

/// The localizer's predictions for `images`, as one batch with ids `img0`, `img1`, …
pub fn localize(localizer: &mut dyn Localizer, images: &[RgbImage]) -> Vec<Prediction> {
    let ids: Vec<String> = (0..images.len()).map(|i| format!("img{i}")).collect();
    let inputs: Vec<LocalizerInput> = images
        .iter()
        .zip(&ids)
        .map(|(image, id)| LocalizerInput {
            id,
            image,
            ground_truth: None,
        })
        .collect();
    localizer.localize(&inputs).unwrap()
}
