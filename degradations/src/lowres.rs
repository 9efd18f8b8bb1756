//! `lowres:R`: shrink each side by R, then restore the original size.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

use crate::text::check_ratio;
use crate::{check_not_empty, DegradationError};

/// Resampling filter of one `lowres` resize; written lowercase in text (`bilinear`, …).
///
/// The convolution filters widen their support when shrinking (antialiasing), like PIL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResizeFilter {
    /// Nearest neighbour, no filtering.
    Nearest,
    /// Box (area average when shrinking), PIL `BOX`.
    Box,
    /// Triangle filter, PIL `BILINEAR` (the default both ways).
    Bilinear,
    /// Catmull-Rom cubic (a = −0.5), PIL `BICUBIC`.
    Bicubic,
    /// Lanczos with 3 lobes, PIL `LANCZOS`.
    Lanczos3,
}

impl ResizeFilter {
    /// The fast_image_resize algorithm implementing this filter.
    fn algorithm(self) -> ResizeAlg {
        match self {
            ResizeFilter::Nearest => ResizeAlg::Nearest,
            ResizeFilter::Box => ResizeAlg::Convolution(FilterType::Box),
            ResizeFilter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
            ResizeFilter::Bicubic => ResizeAlg::Convolution(FilterType::CatmullRom),
            ResizeFilter::Lanczos3 => ResizeAlg::Convolution(FilterType::Lanczos3),
        }
    }
}

/// The reduced size of `lowres`: each side `round(side / ratio)`, halves rounded up, at
/// least 1 pixel. (Python's `round` would round halves to even: 61 / 2 gives 31 here, 30 there.)
pub fn lowres_size(width: u32, height: u32, ratio: f64) -> (u32, u32) {
    let side = |s: u32| ((f64::from(s) / ratio).round() as u32).max(1);
    (side(width), side(height))
}

/// Shrinks `image` to [`lowres_size`] with `down`, then resizes back to its size with `up`
/// (fast_image_resize; bilinear both ways is within ±2 levels of PIL's
/// `img.resize(small, BILINEAR).resize(size, BILINEAR)`).
///
/// `ratio` is finite and ≥ 1; errors on other ratios and on an empty image.
pub fn lowres(
    image: &RgbImage,
    ratio: f64,
    down: ResizeFilter,
    up: ResizeFilter,
) -> Result<RgbImage, DegradationError> {
    check_ratio(ratio)?;
    check_not_empty("lowres", image)?;
    let (width, height) = image.dimensions();
    let (small_w, small_h) = lowres_size(width, height, ratio);
    let mut resizer = Resizer::new();
    let small = resize(
        &mut resizer,
        image.as_raw().clone(),
        (width, height),
        (small_w, small_h),
        down,
    )?;
    let restored = resize(&mut resizer, small, (small_w, small_h), (width, height), up)?;
    Ok(
        RgbImage::from_raw(width, height, restored)
            .expect("resizer returns width*height*3 samples"),
    )
}

/// Resizes interleaved RGB samples of size `from` to `to` with `filter`.
fn resize(
    resizer: &mut Resizer,
    samples: Vec<u8>,
    from: (u32, u32),
    to: (u32, u32),
    filter: ResizeFilter,
) -> Result<Vec<u8>, DegradationError> {
    let failed = |message: String| DegradationError::Resize { from, to, message };
    let src = Image::from_vec_u8(from.0, from.1, samples, PixelType::U8x3)
        .map_err(|e| failed(e.to_string()))?;
    let mut dst = Image::new(to.0, to.1, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(filter.algorithm());
    resizer
        .resize(&src, &mut dst, &options)
        .map_err(|e| failed(e.to_string()))?;
    Ok(dst.into_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_rounds_halves_up_and_keeps_one_pixel() {
        assert_eq!(lowres_size(61, 47, 2.0), (31, 24));
        assert_eq!(lowres_size(96, 80, 3.0), (32, 27));
        assert_eq!(lowres_size(5, 3, 100.0), (1, 1));
        assert_eq!(lowres_size(224, 224, 1.0), (224, 224));
    }

    #[test]
    fn flat_images_survive_every_filter() {
        let flat = RgbImage::from_pixel(9, 7, image::Rgb([12, 240, 99]));
        for f in ResizeFilter::ALL {
            assert_eq!(lowres(&flat, 3.0, f, f).unwrap(), flat, "{f}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        let img = RgbImage::new(4, 4);
        assert!(matches!(
            lowres(&img, 0.5, ResizeFilter::Box, ResizeFilter::Box),
            Err(DegradationError::Invalid(_))
        ));
        assert!(matches!(
            lowres(
                &RgbImage::new(3, 0),
                2.0,
                ResizeFilter::Box,
                ResizeFilter::Box
            ),
            Err(DegradationError::EmptyImage { .. })
        ));
    }
}
