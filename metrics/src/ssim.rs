//! SSIM (Wang et al. 2004), exactly as `skimage.metrics.structural_similarity(gaussian_weights=True,
//! sigma=1.5, use_sample_covariance=False, data_range=1)`.
//!
//! scikit-image filters the whole image with reflected borders, then drops a 5-pixel border of
//! the SSIM map before averaging, which leaves exactly the windows fully inside the image. So
//! this implementation filters in "valid" mode only: a separable 11-tap Gaussian, first along
//! rows into a ring buffer of 11 filtered rows, then down the columns, producing one row of the
//! four local statistics (μx, μy, E[x² + y²], E[xy]) at a time, all in f64. SSIM needs σx² and
//! σy² only as their sum, so filtering x² + y² instead of x² and y² saves a fifth of the work. The working set
//! (≈ 100 KB at 224×224) stays in cache.

use crate::error::{check_pair, MetricError};
use crate::Map;

/// Standard deviation of the Gaussian window, pixels.
pub const SSIM_SIGMA: f64 = 1.5;
/// Side of the Gaussian window, pixels: 2·⌊3.5·σ + 0.5⌋ + 1 (scipy's `truncate = 3.5`).
pub const SSIM_WINDOW: u32 = 11;
/// SSIM stabiliser constant K1 (C1 = (K1·L)², L = 1).
pub const SSIM_K1: f64 = 0.01;
/// SSIM stabiliser constant K2 (C2 = (K2·L)², L = 1).
pub const SSIM_K2: f64 = 0.03;

const WIN: usize = SSIM_WINDOW as usize;
/// Number of local statistics filtered: x, y, x² + y², x·y.
const STATS: usize = 4;

/// Mean SSIM of `pred` against `gt` over all 11×11 windows fully inside the maps, data range 1.
///
/// Symmetric in its arguments; 1 for identical maps; in [-1, 1].
///
/// Errors: size mismatch, a non-finite pixel, or [`MetricError::TooSmall`] when either side is
/// below 11 pixels (no window fits; scikit-image raises a `ValueError` there too).
pub fn ssim(pred: &Map, gt: &Map) -> Result<f64, MetricError> {
    check_pair(pred, gt).map_err(|e| match e {
        // An empty map is simply too small for the window: say so in SSIM's terms.
        MetricError::Empty => too_small(pred),
        other => other,
    })?;
    ssim_checked(pred, gt)
}

/// [`ssim`] on maps already checked for equal size and finite values.
pub(crate) fn ssim_checked(pred: &Map, gt: &Map) -> Result<f64, MetricError> {
    if pred.width() < SSIM_WINDOW || pred.height() < SSIM_WINDOW {
        return Err(too_small(pred));
    }
    // Identical maps (the oracle's) give every window a numerator equal to its denominator, so
    // the filters would return exactly 1 (test `identical_maps_give_exactly_one`).
    let (x, y) = (pred.as_raw(), gt.as_raw());
    if x.iter().zip(y).all(|(a, b)| a.to_bits() == b.to_bits()) {
        return Ok(1.0);
    }
    Ok(mean_ssim_valid(
        pred.as_raw(),
        gt.as_raw(),
        pred.width() as usize,
    ))
}

fn too_small(map: &Map) -> MetricError {
    MetricError::TooSmall {
        metric: "SSIM",
        width: map.width(),
        height: map.height(),
        min: SSIM_WINDOW,
    }
}

/// The normalised 1-D Gaussian, computed as scipy's `_gaussian_kernel1d` does.
fn gaussian_window() -> [f64; WIN] {
    let radius = (WIN / 2) as f64;
    let mut w = [0.0; WIN];
    for (i, wi) in w.iter_mut().enumerate() {
        let x = i as f64 - radius;
        *wi = (-0.5 / (SSIM_SIGMA * SSIM_SIGMA) * (x * x)).exp();
    }
    let sum: f64 = w.iter().sum();
    w.map(|wi| wi / sum)
}

/// Interleaved partial sums in [`lane_sum`]: two AVX2 registers' worth.
const LANES: usize = 8;

/// `out[j] = w[5]·rows[5][j] + Σ_{k<5} w[k]·(rows[k][j] + rows[10−k][j])`: the 11-tap filter
/// with a symmetric window (half the multiplications). Each output is summed in the same fixed
/// order whatever the instruction set, so results are bit-identical across CPUs.
#[inline(always)]
fn symmetric_weighted_sum(out: &mut [f64], w: &[f64; WIN], rows: &[&[f64]; WIN]) {
    const MID: usize = WIN / 2;
    let n = out.len();
    // Equal lengths up front let the compiler drop bounds checks and vectorise over j with
    // plain unaligned loads.
    let rows: [&[f64]; WIN] = std::array::from_fn(|k| &rows[k][..n]);
    for j in 0..n {
        let mut acc = w[MID] * rows[MID][j];
        for k in 0..MID {
            acc += w[k] * (rows[k][j] + rows[WIN - 1 - k][j]);
        }
        out[j] = acc;
    }
}

/// Mean of the SSIM map over valid windows; `x`, `y` are row-major with `width` columns and
/// both sides ≥ 11. Uses AVX2 when the CPU has it, with bit-identical results: no fused
/// multiply-add, and every sum in the same order (see [`symmetric_weighted_sum`]).
fn mean_ssim_valid(x: &[f32], y: &[f32], width: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { mean_ssim_valid_avx2(x, y, width) };
    }
    mean_ssim_valid_portable(x, y, width)
}

/// [`mean_ssim_body`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn mean_ssim_valid_avx2(x: &[f32], y: &[f32], width: usize) -> f64 {
    mean_ssim_body(x, y, width)
}

/// [`mean_ssim_body`] for the baseline instruction set.
fn mean_ssim_valid_portable(x: &[f32], y: &[f32], width: usize) -> f64 {
    mean_ssim_body(x, y, width)
}

#[inline(always)]
fn mean_ssim_body(x: &[f32], y: &[f32], width: usize) -> f64 {
    let w = gaussian_window();
    let height = x.len() / width;
    let (out_w, out_h) = (width - WIN + 1, height - WIN + 1);
    let c1 = (SSIM_K1 * 1.0).powi(2);
    let c2 = (SSIM_K2 * 1.0).powi(2);

    // One input row's four statistics, a ring of the last WIN row-filtered rows of each, the
    // four local statistics of one output row, and that row's SSIM values.
    let mut input = vec![0.0f64; STATS * width];
    let mut ring = vec![0.0f64; WIN * STATS * out_w];
    let mut local = vec![0.0f64; STATS * out_w];
    let mut ssim_row = vec![0.0f64; out_w];
    let mut total = 0.0f64;

    for r in 0..height {
        let (xs, ys) = (&x[r * width..][..width], &y[r * width..][..width]);
        {
            let (ix, rest) = input.split_at_mut(width);
            let (iy, rest) = rest.split_at_mut(width);
            let (iss, ixy) = rest.split_at_mut(width);
            for j in 0..width {
                let (a, b) = (f64::from(xs[j]), f64::from(ys[j]));
                ix[j] = a;
                iy[j] = b;
                iss[j] = a * a + b * b;
                ixy[j] = a * b;
            }
        }
        let slot = &mut ring[(r % WIN) * STATS * out_w..][..STATS * out_w];
        for (s, out) in slot.chunks_exact_mut(out_w).enumerate() {
            let src = &input[s * width..][..width];
            let taps: [&[f64]; WIN] = std::array::from_fn(|k| &src[k..k + out_w]);
            symmetric_weighted_sum(out, &w, &taps);
        }
        if r + 1 < WIN {
            continue;
        }
        // Rows r-10..=r are in the ring; the slot of row r-10+k is (r + 1 + k) % WIN.
        for (s, out) in local.chunks_exact_mut(out_w).enumerate() {
            let taps: [&[f64]; WIN] = std::array::from_fn(|k| {
                &ring[(((r + 1 + k) % WIN) * STATS + s) * out_w..][..out_w]
            });
            symmetric_weighted_sum(out, &w, &taps);
        }
        let (mx, rest) = local.split_at(out_w);
        let (my, rest) = rest.split_at(out_w);
        let (mss, mxy) = rest.split_at(out_w);
        for j in 0..out_w {
            let (ux, uy) = (mx[j], my[j]);
            let mean_sq = ux * ux + uy * uy;
            // Population (co)variances (cov_norm = 1 in scikit-image's terms); σx² + σy² as one.
            // Written so that x = y gives numerator = denominator exactly.
            let var_sum = mss[j] - mean_sq;
            let cov = mxy[j] - ux * uy;
            let num = (2.0 * ux * uy + c1) * (2.0 * cov + c2);
            let den = (mean_sq + c1) * (var_sum + c2);
            ssim_row[j] = num / den;
        }
        // Per-row sums keep the accumulated rounding small on large maps.
        total += lane_sum(&ssim_row);
    }
    // SSIM lies in [-1, 1]; the clamp only absorbs rounding of near-identical maps.
    (total / (out_w * out_h) as f64).clamp(-1.0, 1.0)
}

/// Sum with `LANES` interleaved partial sums (vectorisable, fixed order, so deterministic).
#[inline(always)]
fn lane_sum(values: &[f64]) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest: f64 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for l in 0..LANES {
            lanes[l] += chunk[l];
        }
    }
    lanes.iter().sum::<f64>() + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_sets_agree_bit_for_bit() {
        let (w, h) = (37, 23);
        let x: Vec<f32> = (0..w * h)
            .map(|i| ((i * 7919) % 256) as f32 / 255.0)
            .collect();
        let y: Vec<f32> = (0..w * h)
            .map(|i| ((i * 104729) % 251) as f32 / 250.0)
            .collect();
        let dispatched = mean_ssim_valid(&x, &y, w);
        assert_eq!(
            dispatched.to_bits(),
            mean_ssim_valid_portable(&x, &y, w).to_bits()
        );
    }

    /// The filters themselves return exactly 1 for identical maps, so skipping them there
    /// changes no value: on smooth, noisy, binary, tiny and large values.
    #[test]
    fn identical_maps_give_exactly_one() {
        let (w, h) = (40, 31);
        let noise: Vec<f32> = (0..w * h)
            .map(|i| ((i * 7919) % 1009) as f32 / 1008.0)
            .collect();
        let maps: [Vec<f32>; 5] = [
            (0..w * h).map(|i| (i as f32 * 0.013).sin().abs()).collect(),
            noise.clone(),
            noise.iter().map(|&v| f32::from(v > 0.5)).collect(),
            noise.iter().map(|&v| v * 1e-30).collect(),
            noise.iter().map(|&v| v * 1e6).collect(),
        ];
        for x in &maps {
            assert_eq!(mean_ssim_valid(x, x, w), 1.0);
            assert_eq!(mean_ssim_valid_portable(x, x, w), 1.0);
        }
        let map = Map::from_raw(w as u32, h as u32, maps[0].clone()).unwrap();
        assert_eq!(ssim(&map, &map.clone()).unwrap(), 1.0);
    }

    #[test]
    fn window_matches_scipy() {
        // scipy.ndimage._filters._gaussian_kernel1d(1.5, 0, 5), printed with repr().
        let expected = [
            0.00102838008447911,
            0.007598758135239185,
            0.03600077212843083,
            0.10936068950970002,
            0.2130055377112537,
            0.26601172486179436,
        ];
        let w = gaussian_window();
        for (i, e) in expected.iter().enumerate() {
            assert!((w[i] - e).abs() < 1e-16, "tap {i}: {} vs {e}", w[i]);
            assert_eq!(w[i], w[WIN - 1 - i]);
        }
    }
}
