//! SSIM (Wang et al. 2004), exactly as `skimage.metrics.structural_similarity(gaussian_weights=True,
//! sigma=1.5, use_sample_covariance=False, data_range=1)` (SPEC §4).
//!
//! scikit-image filters the whole image with reflected borders, then drops a 5-pixel border of
//! the SSIM map before averaging, which leaves exactly the windows fully inside the image. So
//! this implementation filters in "valid" mode only: a separable 11-tap Gaussian, first along
//! rows into a ring buffer of 11 filtered rows, then down the columns, producing one row of the
//! five local statistics (μx, μy, E[x²], E[y²], E[xy]) at a time, all in f64.

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
/// Number of local statistics filtered: x, y, x², y², x·y.
const STATS: usize = 5;

/// Mean SSIM of `pred` against `gt` over all 11×11 windows fully inside the maps, data range 1.
///
/// Symmetric in its arguments; 1 for identical maps; in [-1, 1].
///
/// Errors: size mismatch, a non-finite pixel, or [`MetricError::TooSmall`] when either side is
/// below 11 pixels (no window fits; scikit-image raises a `ValueError` there too).
pub fn ssim(pred: &Map, gt: &Map) -> Result<f64, MetricError> {
    check_pair(pred, gt).map_err(|e| match e {
        // An empty map is simply too small for the window: say so in SSIM's terms.
        MetricError::Empty { .. } => too_small(pred),
        other => other,
    })?;
    if pred.width() < SSIM_WINDOW || pred.height() < SSIM_WINDOW {
        return Err(too_small(pred));
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

/// `out[j] = Σ_k w[k] · row(k)[j]`, summed in k order so the result does not depend on how the
/// compiler vectorises over j. The inner loop is an axpy over contiguous slices.
#[inline(always)]
fn weighted_sum<'a>(out: &mut [f64], w: &[f64; WIN], row: impl Fn(usize) -> &'a [f64]) {
    for (o, &v) in out.iter_mut().zip(row(0)) {
        *o = w[0] * v;
    }
    for (k, &wk) in w.iter().enumerate().skip(1) {
        for (o, &v) in out.iter_mut().zip(row(k)) {
            *o += wk * v;
        }
    }
}

/// Mean of the SSIM map over valid windows; `x`, `y` are row-major with `width` columns and
/// both sides ≥ 11.
fn mean_ssim_valid(x: &[f32], y: &[f32], width: usize) -> f64 {
    let w = gaussian_window();
    let height = x.len() / width;
    let (out_w, out_h) = (width - WIN + 1, height - WIN + 1);
    let c1 = (SSIM_K1 * 1.0).powi(2);
    let c2 = (SSIM_K2 * 1.0).powi(2);

    // One input row's five statistics, and a ring of the last WIN row-filtered rows of each.
    let mut input = vec![0.0f64; STATS * width];
    let mut ring = vec![0.0f64; WIN * STATS * out_w];
    let mut local = vec![0.0f64; STATS * out_w];
    let mut total = 0.0f64;

    for r in 0..height {
        let (xs, ys) = (&x[r * width..][..width], &y[r * width..][..width]);
        let (ix, rest) = input.split_at_mut(width);
        let (iy, rest) = rest.split_at_mut(width);
        let (ixx, rest) = rest.split_at_mut(width);
        let (iyy, ixy) = rest.split_at_mut(width);
        for j in 0..width {
            let (a, b) = (f64::from(xs[j]), f64::from(ys[j]));
            ix[j] = a;
            iy[j] = b;
            ixx[j] = a * a;
            iyy[j] = b * b;
            ixy[j] = a * b;
        }
        let slot = &mut ring[(r % WIN) * STATS * out_w..][..STATS * out_w];
        for (s, out) in slot.chunks_exact_mut(out_w).enumerate() {
            let src = &input[s * width..][..width];
            weighted_sum(out, &w, |k| &src[k..k + out_w]);
        }
        if r + 1 < WIN {
            continue;
        }
        // Rows r-10..=r are in the ring; ring slot of row (r + 1 + k) % WIN holds row r-10+k.
        for (s, out) in local.chunks_exact_mut(out_w).enumerate() {
            weighted_sum(out, &w, |k| {
                &ring[(((r + 1 + k) % WIN) * STATS + s) * out_w..][..out_w]
            });
        }
        let (mx, rest) = local.split_at(out_w);
        let (my, rest) = rest.split_at(out_w);
        let (mxx, rest) = rest.split_at(out_w);
        let (myy, mxy) = rest.split_at(out_w);
        let mut row_sum = 0.0f64;
        for j in 0..out_w {
            let (ux, uy) = (mx[j], my[j]);
            // Population (co)variances: cov_norm = 1 in scikit-image's terms.
            let vx = mxx[j] - ux * ux;
            let vy = myy[j] - uy * uy;
            let vxy = mxy[j] - ux * uy;
            let num = (2.0 * ux * uy + c1) * (2.0 * vxy + c2);
            let den = (ux * ux + uy * uy + c1) * (vx + vy + c2);
            row_sum += num / den;
        }
        // Summing per row first keeps the accumulated rounding error small on large maps.
        total += row_sum;
    }
    total / (out_w * out_h) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

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
