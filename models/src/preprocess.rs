//! The input normalisation of the candle networks, in one place for inference
//! ([`crate::DeepLabV3Localizer`], [`crate::StehouwerLocalizer`]) and training (`harness train`),
//! so the two cannot drift apart. Each network has its own per-channel mean and standard
//! deviation ([`crate::IMAGENET_MEAN`] / [`crate::IMAGENET_STD`] for DeepLabv3,
//! [`crate::STEHOUWER_MEAN`] / [`crate::STEHOUWER_STD`] for Xception); the formula is the same.

use candle_core::{Device, Tensor};
use image::RgbImage;

/// Writes `image` into `out` as a channel-major `3×H×W` plane stack: each 8-bit value `v` of
/// channel `c` becomes `(v / 255 − mean[c]) / std[c]`, computed in f32 in that order.
///
/// Panics unless `out` holds exactly `3·W·H` values.
pub fn normalize_into(image: &RgbImage, mean: [f32; 3], std: [f32; 3], out: &mut [f32]) {
    let plane = image.width() as usize * image.height() as usize;
    assert_eq!(out.len(), 3 * plane, "output is not 3×H×W for the image");
    for (i, pixel) in image.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (pixel[c] as f32 / 255.0 - mean[c]) / std[c];
        }
    }
}

/// [`normalize_into`] a new `3×H×W` vector (one training example).
pub fn normalize(image: &RgbImage, mean: [f32; 3], std: [f32; 3]) -> Vec<f32> {
    let mut out = vec![0f32; 3 * image.width() as usize * image.height() as usize];
    normalize_into(image, mean, std, &mut out);
    out
}

/// Packs `images`, all of one size `W×H`, into an `N×3×H×W` tensor on `device`, each normalised
/// by [`normalize_into`]. Errors on an empty batch, images of different sizes, or a device error.
pub fn to_input_tensor(
    images: &[&RgbImage],
    mean: [f32; 3],
    std: [f32; 3],
    device: &Device,
) -> candle_core::Result<Tensor> {
    let Some(first) = images.first() else {
        return Err(candle_core::Error::Msg("no images to pack".into()));
    };
    let (w, h) = first.dimensions();
    if let Some(other) = images.iter().find(|image| image.dimensions() != (w, h)) {
        return Err(candle_core::Error::Msg(format!(
            "images of different sizes in one batch: {w}×{h} and {}×{}",
            other.width(),
            other.height()
        )));
    }
    let size = 3 * w as usize * h as usize;
    let mut data = vec![0f32; images.len() * size];
    for (image, out) in images.iter().zip(data.chunks_exact_mut(size)) {
        normalize_into(image, mean, std, out);
    }
    Tensor::from_vec(data, (images.len(), 3, h as usize, w as usize), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: u32, h: u32, seed: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                ((x * 37 + y * 11 + seed) % 256) as u8,
                ((x * 5 + y * 91 + 3 * seed) % 256) as u8,
                ((x * y + 7 * seed) % 256) as u8,
            ])
        })
    }

    /// The loops this module replaced, in inference (`normalized_batch`) and training
    /// (`harness train`'s examples), give bit-identical values.
    #[test]
    fn equals_the_former_inference_and_training_loops() {
        let (mean, std) = ([0.485f32, 0.456, 0.406], [0.229f32, 0.224, 0.225]);
        let (w, h) = (13u32, 9u32);
        let images: Vec<RgbImage> = (0..3).map(|k| image(w, h, k)).collect();
        let plane = (w * h) as usize;
        // Inference: one N×3×H×W buffer.
        let mut batch = vec![0f32; images.len() * 3 * plane];
        for (n, im) in images.iter().enumerate() {
            for (i, pixel) in im.pixels().enumerate() {
                for c in 0..3 {
                    batch[(n * 3 + c) * plane + i] = (pixel[c] as f32 / 255.0 - mean[c]) / std[c];
                }
            }
        }
        let refs: Vec<&RgbImage> = images.iter().collect();
        let tensor = to_input_tensor(&refs, mean, std, &Device::Cpu).unwrap();
        assert_eq!(tensor.dims(), [3, 3, h as usize, w as usize]);
        let ours: Vec<f32> = tensor.flatten_all().unwrap().to_vec1().unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&ours), bits(&batch));
        // Training: one 3×H×W vector per example.
        for (n, im) in images.iter().enumerate() {
            let mut input = vec![0f32; 3 * plane];
            for (i, pixel) in im.pixels().enumerate() {
                for c in 0..3 {
                    input[c * plane + i] = (pixel[c] as f32 / 255.0 - mean[c]) / std[c];
                }
            }
            assert_eq!(bits(&normalize(im, mean, std)), bits(&input));
            assert_eq!(
                bits(&batch[n * 3 * plane..(n + 1) * 3 * plane]),
                bits(&input)
            );
        }
    }

    #[test]
    fn rejects_empty_and_mixed_batches() {
        let (mean, std) = ([0.5; 3], [0.5; 3]);
        assert!(to_input_tensor(&[], mean, std, &Device::Cpu).is_err());
        let (a, b) = (image(4, 4, 0), image(4, 5, 0));
        let e = to_input_tensor(&[&a, &b], mean, std, &Device::Cpu).unwrap_err();
        assert!(e.to_string().contains("4×4 and 4×5"), "{e}");
    }
}
