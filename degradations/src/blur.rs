//! `blur:K`: OpenCV's 8-bit `GaussianBlur(img, (K, K), 0)`, bit for bit.
//!
//! Ported by hand because no crate reproduces it (research note rust_crates.md §3: `image`,
//! `imageproc` and `libblur` all differ by 1–20 levels). OpenCV's 8-bit path is fixed point:
//! the kernel is quantised to 8 fractional bits (fixed tables for K ≤ 9, error-diffused
//! Gaussian above), the horizontal pass is exact integer arithmetic, and the vertical pass
//! accumulates at 2^16 and rounds half up. Borders are `BORDER_REFLECT_101` (`gfedcb|abcdefgh|gfedcba`),
//! reflected repeatedly when the image is smaller than the kernel radius.

use image::RgbImage;

use crate::text::{check_kernel, ParseError};
use crate::{check_not_empty, DegradationError};

/// Largest accepted kernel side. OpenCV has no limit; this one keeps a typo such as
/// `blur:77777` from allocating a huge kernel, and is far above any useful blur.
pub const MAX_BLUR_KERNEL: u32 = 999;

/// Fractional bits of OpenCV's 8-bit kernels (`ufixedpoint16`): weights are in 1/256.
const FRACTION_BITS: u32 = 8;
/// The weight 1.0 in kernel units.
const UNIT: i64 = 1 << FRACTION_BITS;

/// OpenCV's 8-bit Gaussian kernel for side `kernel` (odd, 1..=[`MAX_BLUR_KERNEL`]), in units
/// of 1/256; the weights sum to exactly 256.
///
/// K ≤ 9 uses OpenCV's fixed tables (e.g. K = 9: `[4, 13, 30, 51, 60, 51, 30, 13, 4]`);
/// above, σ = 0.3((K−1)/2 − 1) + 0.8 and the normalised Gaussian is rounded to 1/256 with
/// error diffusion from the tails inwards, the centre taking what is left of 256.
pub fn gaussian_kernel_fixed_point(kernel: u32) -> Result<Vec<u32>, ParseError> {
    check_kernel(kernel)?;
    let fixed: &[u32] = match kernel {
        1 => &[256],
        3 => &[64, 128, 64],
        5 => &[16, 64, 96, 64, 16],
        7 => &[8, 28, 56, 72, 56, 28, 8],
        9 => &[4, 13, 30, 51, 60, 51, 30, 13, 4],
        _ => return Ok(error_diffused_gaussian(kernel)),
    };
    Ok(fixed.to_vec())
}

/// The Gaussian kernel of an odd side `n > 9`, quantised like OpenCV's
/// `getGaussianKernelFixedPoint_ED`. Each float step mirrors OpenCV's softdouble step
/// (IEEE round-to-nearest), so the same doubles come out.
fn error_diffused_gaussian(n: u32) -> Vec<u32> {
    // σ = 0.15 n + 0.35 as one fused multiply-add, as OpenCV computes it.
    let sigma = f64::from(n).mul_add(0.15, 0.35);
    // Offsets are taken doubled (x = 2·offset, always even for odd n), hence −0.5 · 0.25.
    let scale = -0.125 / (sigma * sigma);
    let half = (n as usize - 1) / 2;
    let tails: Vec<f64> = (0..half)
        .map(|i| {
            let x = 1 - i64::from(n) + 2 * i as i64;
            ((x * x) as f64 * scale).exp()
        })
        .collect();
    // The centre weight is exp(0) = 1.
    let sum = tails.iter().fold(0.0, |acc, t| acc + t) * 2.0 + 1.0;
    let normaliser = 1.0 / sum;

    let mut weights = vec![0u32; n as usize];
    let mut carried_error = 0.0;
    let mut tail_total = 0i64;
    for (i, tail) in tails.iter().enumerate() {
        let wanted = tail * normaliser * UNIT as f64 + carried_error;
        let rounded = wanted.round_ties_even();
        carried_error = wanted - rounded;
        // Error diffusion keeps each partial sum within 0.5 of the exact one, so every weight
        // and the centre below are non-negative.
        debug_assert!(rounded >= 0.0);
        weights[i] = rounded as u32;
        weights[n as usize - 1 - i] = rounded as u32;
        tail_total += rounded as i64;
    }
    let centre = UNIT - 2 * tail_total;
    debug_assert!(centre >= 0);
    weights[half] = centre as u32;
    weights
}

/// Blurs `image` like `cv2.GaussianBlur(image, (kernel, kernel), 0)` on uint8 data.
///
/// `kernel` is odd, 1 (identity) to [`MAX_BLUR_KERNEL`]; errors on other values and on an
/// empty image. The result has the input's size and is bit-identical to OpenCV's.
pub fn blur(image: &RgbImage, kernel: u32) -> Result<RgbImage, DegradationError> {
    let weights = gaussian_kernel_fixed_point(kernel)?;
    check_not_empty("blur", image)?;
    let (width, height) = image.dimensions();
    let horizontal = horizontal_pass(image, &weights);
    Ok(vertical_pass(&horizontal, width, height, &weights))
}

/// The `REFLECT_101` source index of position `p` on a line of `len` samples, reflected as
/// often as needed (`len` = 1 always gives 0, like OpenCV).
fn reflect_101(p: i64, len: i64) -> usize {
    if len == 1 {
        return 0;
    }
    let period = 2 * (len - 1);
    let q = p.rem_euclid(period);
    (if q < len { q } else { period - q }) as usize
}

/// Horizontal pass: per row, exact sums of weights × samples, interleaved RGB.
///
/// Each sum is at most 255 · 256 (the weights sum to 256), so u16 holds every partial sum
/// exactly, and u16 lanes vectorise on baseline x86-64 (SSE2 has no 32-bit multiply).
fn horizontal_pass(image: &RgbImage, weights: &[u32]) -> Vec<u16> {
    let (width, height) = image.dimensions();
    let radius = (weights.len() / 2) as i64;
    let row_len = width as usize * 3;
    let mut out = vec![0u16; row_len * height as usize];
    // One row extended by `radius` reflected pixels on both sides.
    let mut padded = vec![0u16; (width as usize + 2 * radius as usize) * 3];
    for (src_row, out_row) in image
        .as_raw()
        .chunks_exact(row_len)
        .zip(out.chunks_exact_mut(row_len))
    {
        let interior = radius as usize * 3..radius as usize * 3 + row_len;
        for (dst, &src) in padded[interior.clone()].iter_mut().zip(src_row) {
            *dst = u16::from(src);
        }
        // Only the 2·radius border pixels need reflecting.
        for (i, px) in padded.chunks_exact_mut(3).enumerate() {
            if !interior.contains(&(i * 3)) {
                let x = reflect_101(i as i64 - radius, i64::from(width));
                for (dst, &src) in px.iter_mut().zip(&src_row[x * 3..x * 3 + 3]) {
                    *dst = u16::from(src);
                }
            }
        }
        for (tap, &w) in weights.iter().enumerate() {
            let w = w as u16;
            let window = &padded[tap * 3..tap * 3 + row_len];
            for (acc, &v) in out_row.iter_mut().zip(window) {
                *acc += w * v;
            }
        }
    }
    out
}

/// Vertical pass: weights × horizontal sums at 16 fractional bits, rounded half up to 8 bits
/// like OpenCV's `(v + 2^15) >> 16`.
///
/// Accumulated in f32 for SIMD speed, yet exact: every product and partial sum is an integer
/// of at most 255 · 2^16 < 2^24, which f32 represents exactly.
fn vertical_pass(horizontal: &[u16], width: u32, height: u32, weights: &[u32]) -> RgbImage {
    let radius = (weights.len() / 2) as i64;
    let row_len = width as usize * 3;
    let mut out = vec![0u8; row_len * height as usize];
    let mut acc = vec![0f32; row_len];
    for (y, out_row) in out.chunks_exact_mut(row_len).enumerate() {
        acc.fill(0.0);
        for (tap, &w) in weights.iter().enumerate() {
            let w = w as f32;
            let row = reflect_101(y as i64 + tap as i64 - radius, i64::from(height));
            let src = &horizontal[row * row_len..(row + 1) * row_len];
            for (a, &h) in acc.iter_mut().zip(src) {
                *a += w * f32::from(h);
            }
        }
        for (o, &a) in out_row.iter_mut().zip(&acc) {
            // i32 (not u32) so the conversion vectorises; a < 2^24 fits.
            *o = ((a as i32 + (1 << 15)) >> 16) as u8;
        }
    }
    RgbImage::from_raw(width, height, out).expect("buffer has width*height*3 samples")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_sum_to_one_and_are_symmetric() {
        for k in (1..=61).step_by(2) {
            let w = gaussian_kernel_fixed_point(k).unwrap();
            assert_eq!(w.len(), k as usize);
            assert_eq!(w.iter().sum::<u32>(), 256, "k={k}");
            assert!(w.iter().eq(w.iter().rev()), "k={k}");
        }
        assert_eq!(
            gaussian_kernel_fixed_point(MAX_BLUR_KERNEL)
                .unwrap()
                .iter()
                .sum::<u32>(),
            256
        );
    }

    #[test]
    fn gaussian_above_nine_peaks_in_the_middle() {
        // σ(11) = 2: weights ≈ 256·exp(−x²/8)/Σ, i.e. about 51 at the centre.
        let w = gaussian_kernel_fixed_point(11).unwrap();
        assert!((50..=52).contains(&w[5]), "{w:?}");
        assert!(w.windows(2).take(5).all(|p| p[0] <= p[1]), "{w:?}");
    }

    #[test]
    fn rejects_bad_kernels() {
        assert!(gaussian_kernel_fixed_point(4).is_err());
        assert!(gaussian_kernel_fixed_point(0).is_err());
        let img = RgbImage::new(4, 4);
        assert!(blur(&img, 2).is_err());
        assert!(matches!(
            blur(&RgbImage::new(0, 3), 3),
            Err(DegradationError::EmptyImage { .. })
        ));
    }

    #[test]
    fn reflect_101_repeats() {
        let idx: Vec<usize> = (-5..9).map(|p| reflect_101(p, 3)).collect();
        assert_eq!(idx, [1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1, 0]);
        assert_eq!(reflect_101(-7, 1), 0);
    }

    #[test]
    fn kernel_one_and_flat_images_are_unchanged() {
        let img = RgbImage::from_fn(5, 4, |x, y| image::Rgb([(x * 50) as u8, (y * 60) as u8, 7]));
        assert_eq!(blur(&img, 1).unwrap(), img);
        let flat = RgbImage::from_pixel(6, 3, image::Rgb([200, 3, 99]));
        assert_eq!(blur(&flat, 31).unwrap(), flat);
    }
}
